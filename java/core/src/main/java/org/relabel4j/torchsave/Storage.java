package org.relabel4j.torchsave;

import org.relabel4j.nd.DType;

/**
 * A storage named by a pickle's persistent id: where its bytes are in the file. Appears in results only where a
 * file saved a bare storage rather than a tensor.
 */
final class Storage {
    final String key;
    /** The element type; null for an untyped (byte) storage. */
    final DType dtype;
    /** Elements of {@link #dtype}, or bytes when untyped. */
    final long numel;
    final String location;
    final String typeName;
    /** The storage this one is a view of (legacy format storage views), or this. */
    final Storage root;
    /** This storage's first element in {@link #root}, in elements. */
    final long rootOffset;
    /** File position of the first byte of a root storage; -1 until known. */
    long dataPos = -1;

    Storage(String key, DType dtype, long numel, String location, String typeName) {
        this.key = key;
        this.dtype = dtype;
        this.numel = numel;
        this.location = location;
        this.typeName = typeName;
        this.root = this;
        this.rootOffset = 0;
    }

    /** A view of {@code numel} elements of {@code root} from element {@code offset}. */
    Storage(String key, Storage root, long offset, long numel) {
        this.key = key;
        this.dtype = root.dtype;
        this.numel = numel;
        this.location = root.location;
        this.typeName = root.typeName;
        this.root = root;
        this.rootOffset = offset;
    }

    int elementSize() {
        return dtype == null ? 1 : dtype.size();
    }

    long nbytes() {
        return numel * elementSize();
    }

    /** File position of this storage's first byte (the root's data must be located). */
    long position() {
        return root.dataPos + rootOffset * elementSize();
    }

    @Override
    public String toString() {
        return "Storage(" + typeName + ", key '" + key + "', " + numel + (dtype == null ? " bytes" : " elements")
                + ", " + location + ")";
    }
}
