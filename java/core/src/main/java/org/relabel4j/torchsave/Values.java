package org.relabel4j.torchsave;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Short descriptions of unpickled values for error messages (never the whole value: it may be huge or cyclic). */
final class Values {
    private Values() {}

    /** The Python type of a value, e.g. {@code int}, {@code str}, {@code tuple of 3}. */
    static String typeOf(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Long || v instanceof BigInteger) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof String) return "str";
        if (v instanceof byte[]) return "bytes";
        if (v instanceof PyTuple t) return "tuple of " + t.size();
        if (v instanceof List<?>) return "list";
        if (v instanceof Map<?, ?>) return "dict";
        if (v instanceof Set<?>) return "set";
        if (v instanceof TorchTensor) return "tensor";
        if (v instanceof Storage s) return "storage " + s.typeName;
        if (v instanceof PyGlobal g) return "global " + g.qualifiedName();
        if (v instanceof PyObject o) return "object of class " + o.className();
        return v.getClass().getSimpleName();
    }

    /** {@link #typeOf} with an article: {@code an int}, {@code a str}, {@code None}. */
    static String aTypeOf(Object v) {
        String t = typeOf(v);
        if (v == null) return t;
        return ("aeiou".indexOf(t.charAt(0)) >= 0 ? "an " : "a ") + t;
    }

    /** Scalars and short strings by value, anything else by {@link #typeOf}. */
    static String describeShort(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Long || v instanceof BigInteger || v instanceof Double) return v.toString();
        if (v instanceof String s) return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
        if (v instanceof PyTuple t && t.size() <= 8) {
            for (Object o : t) {
                if (!(o instanceof Long)) return typeOf(v);
            }
            return t.toString();
        }
        if (v instanceof TorchTensor || v instanceof PyGlobal) return v.toString();
        return typeOf(v);
    }
}
