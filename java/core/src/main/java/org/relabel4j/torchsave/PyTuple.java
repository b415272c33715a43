package org.relabel4j.torchsave;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.RandomAccess;

/**
 * A Python tuple: an immutable list (every mutator throws {@link UnsupportedOperationException}); equal to any
 * {@link java.util.List} with the same elements, like other lists.
 */
public final class PyTuple extends AbstractList<Object> implements RandomAccess {
    /** The empty tuple. */
    public static final PyTuple EMPTY = new PyTuple(new Object[0]);

    private final Object[] items;

    /** Takes ownership of {@code items}. */
    PyTuple(Object[] items) {
        this.items = items;
    }

    /** A tuple of copies of the given references. */
    public static PyTuple of(Object... items) {
        return items.length == 0 ? EMPTY : new PyTuple(items.clone());
    }

    @Override
    public Object get(int index) {
        return items[index];
    }

    @Override
    public int size() {
        return items.length;
    }

    @Override
    public Object[] toArray() {
        return items.clone();
    }

    /** Python's notation for small tuples of simple values; larger or nested contents are summarized. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < items.length; ++i) {
            if (i > 0) b.append(", ");
            if (i == 16) {
                b.append("... ").append(items.length - 16).append(" more");
                break;
            }
            b.append(Values.describeShort(items[i]));
        }
        if (items.length == 1) b.append(',');
        return b.append(')').toString();
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(items);
    }
}
