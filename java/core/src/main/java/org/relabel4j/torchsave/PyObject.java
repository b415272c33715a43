package org.relabel4j.torchsave;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A placeholder for an instance of a Python class this reader does not know (for instance {@code torch.device},
 * {@code argparse.Namespace}, a whole {@code nn.Module}, a NumPy array): the class, the arguments it was built with
 * (REDUCE / NEWOBJ), the state it was given (BUILD: usually a dict of attributes), and any items appended or set on
 * it. Equality is identity, as for most Python objects.
 */
public final class PyObject {
    private final PyGlobal type;
    private final PyTuple args;
    private Object state;
    private List<Object> listItems;
    private Map<Object, Object> dictItems;

    PyObject(PyGlobal type, PyTuple args) {
        this.type = type;
        this.args = args;
    }

    /** The class (or function) that built this object. */
    public PyGlobal type() {
        return type;
    }

    /** {@code module.name} of the class, e.g. {@code torch.device}. */
    public String className() {
        return type.qualifiedName();
    }

    /** The arguments the object was built with (empty when none). */
    public PyTuple args() {
        return args;
    }

    /** The state given by BUILD ({@code __setstate__}), usually a {@code Map} of attributes; null when none. */
    public Object state() {
        return state;
    }

    /** Items appended to the object (APPEND/APPENDS), in order; empty when none. */
    public List<Object> listItems() {
        return listItems == null ? List.of() : Collections.unmodifiableList(listItems);
    }

    /** Items set on the object (SETITEM/SETITEMS), in order; empty when none. */
    public Map<Object, Object> dictItems() {
        return dictItems == null ? Map.of() : Collections.unmodifiableMap(dictItems);
    }

    void setState(Object state) {
        this.state = state;
    }

    void append(Object item) {
        if (listItems == null) listItems = new ArrayList<>();
        listItems.add(item);
    }

    void put(Object key, Object value) {
        if (dictItems == null) dictItems = new LinkedHashMap<>();
        dictItems.put(key, value);
    }

    @Override
    public String toString() {
        return "PyObject[" + className() + ", " + args.size() + " args" + (state != null ? ", with state" : "") + "]";
    }
}
