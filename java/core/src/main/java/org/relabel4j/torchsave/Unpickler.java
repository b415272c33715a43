package org.relabel4j.torchsave;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle virtual machine for what torch.save writes: protocols 0-4 (and protocol 5 files without out-of-band
 * buffers), without executing anything. Python values map to Java ones (see {@link TorchSave}); known callables
 * (dict types, sets, bytes, torch.Size and torch's tensor rebuild functions) are evaluated, any other class becomes a
 * {@link PyObject} placeholder. Persistent ids go to the {@link Loader}.
 */
final class Unpickler {
    private static final Object MISSING = new Object();
    /** Deepest nesting of tuples accepted as a dict key or set element (hashing is recursive). */
    private static final int MAX_KEY_DEPTH = 100;

    private final PickleInput in;
    private final Loader loader;
    private final String where;
    private final long base;

    private Object[] stack = new Object[32];
    private int sp;
    private int[] marks = new int[8];
    private int markCount;
    /** Top of the current mark frame: pops may not go below it (Python's metastack). */
    private int frame;

    private Object[] memo = new Object[16];
    private Map<Long, Object> bigMemo;
    private int memoSize;
    private long opAt;

    /**
     * @param where names the pickle in messages, e.g. {@code archive/data.pkl}
     * @param base file position that messages count bytes from
     */
    Unpickler(PickleInput in, Loader loader, String where, long base) {
        this.in = in;
        this.loader = loader;
        this.where = where;
        this.base = base;
        Arrays.fill(memo, MISSING);
    }

    TorchSaveException error(String message) {
        return loader.error(where + ", opcode at byte " + (opAt - base) + ": " + message);
    }

    /** Runs the pickle to its STOP and returns the object it built. */
    Object load() throws IOException {
        try {
            return run();
        } catch (ByteSource.EndOfData e) {
            throw loader.error("truncated: " + where + " ends inside the opcode at byte " + (opAt - base) + " ("
                    + e.getMessage() + ")");
        }
    }

    private Object run() throws IOException {
        while (true) {
            opAt = in.position();
            int op = in.u8();
            switch (op) {
                case 0x80: {  // PROTO
                    int v = in.u8();
                    if (v > 5) throw error("unsupported pickle protocol " + v);
                    break;
                }
                case 0x95:  // FRAME: a size hint only
                    in.i64();
                    break;
                case '.':  // STOP
                    return pop();
                case '(':  // MARK
                    if (markCount == marks.length) marks = Arrays.copyOf(marks, markCount * 2);
                    marks[markCount++] = frame;
                    frame = sp;
                    break;
                case '0':  // POP
                    if (sp > frame) --sp;
                    else popMark();
                    break;
                case '1':  // POP_MARK
                    popMark();
                    break;
                case '2':  // DUP
                    push(peek());
                    break;
                case 'N':
                    push(null);
                    break;
                case 0x88:
                    push(Boolean.TRUE);
                    break;
                case 0x89:
                    push(Boolean.FALSE);
                    break;
                case 'I':  // INT (text; I00/I01 are False/True)
                    push(parseInt(in.line()));
                    break;
                case 'J':  // BININT
                    push((long) in.i32());
                    break;
                case 'K':  // BININT1
                    push((long) in.u8());
                    break;
                case 'M':  // BININT2
                    push((long) in.u16());
                    break;
                case 'L': {  // LONG (text)
                    String s = in.line();
                    push(parseLong(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
                    break;
                }
                case 0x8a:  // LONG1
                    push(decodeLong(in.bytes(in.u8())));
                    break;
                case 0x8b: {  // LONG4
                    int n = in.i32();
                    if (n < 0) throw error("LONG4 with negative length " + n);
                    push(decodeLong(in.bytes(n)));
                    break;
                }
                case 'F':  // FLOAT (text)
                    push(parseFloat(in.line()));
                    break;
                case 'G':  // BINFLOAT
                    push(in.f64BigEndian());
                    break;
                case 'S':  // STRING (Python 2 str, a quoted repr)
                    push(pyString(unquote(in.lineBytes())));
                    break;
                case 'T': {  // BINSTRING
                    int n = in.i32();
                    if (n < 0) throw error("BINSTRING with negative length " + n);
                    push(pyString(in.bytes(n)));
                    break;
                }
                case 'U':  // SHORT_BINSTRING
                    push(pyString(in.bytes(in.u8())));
                    break;
                case 'V':  // UNICODE (raw-unicode-escape)
                    push(rawUnicodeEscape(in.lineBytes()));
                    break;
                case 'X':  // BINUNICODE
                    push(in.utf8(in.u32()));
                    break;
                case 0x8c:  // SHORT_BINUNICODE
                    push(in.utf8(in.u8()));
                    break;
                case 0x8d:  // BINUNICODE8
                    push(in.utf8(in.i64()));
                    break;
                case 'B':  // BINBYTES
                    push(in.bytes(in.u32()));
                    break;
                case 'C':  // SHORT_BINBYTES
                    push(in.bytes(in.u8()));
                    break;
                case 0x8e:  // BINBYTES8
                case 0x96:  // BYTEARRAY8
                    push(in.bytes(in.i64()));
                    break;
                case ')':
                    push(PyTuple.EMPTY);
                    break;
                case 't':
                    push(new PyTuple(popMark()));
                    break;
                case 0x85: {  // TUPLE1
                    Object a = pop();
                    push(new PyTuple(new Object[] {a}));
                    break;
                }
                case 0x86: {  // TUPLE2
                    Object b = pop(), a = pop();
                    push(new PyTuple(new Object[] {a, b}));
                    break;
                }
                case 0x87: {  // TUPLE3
                    Object c = pop(), b = pop(), a = pop();
                    push(new PyTuple(new Object[] {a, b, c}));
                    break;
                }
                case ']':
                    push(new ArrayList<>());
                    break;
                case 'l':  // LIST
                    push(new ArrayList<>(Arrays.asList(popMark())));
                    break;
                case 'a': {  // APPEND
                    Object v = pop();
                    append(peek(), v);
                    break;
                }
                case 'e': {  // APPENDS
                    Object[] items = popMark();
                    Object target = peek();
                    for (Object v : items) append(target, v);
                    break;
                }
                case '}':
                    push(new LinkedHashMap<>());
                    break;
                case 'd': {  // DICT
                    Object[] items = popMark();
                    Map<Object, Object> m = new LinkedHashMap<>();
                    if (items.length % 2 != 0) throw error("DICT with an odd number of items");
                    for (int i = 0; i < items.length; i += 2) setItem(m, items[i], items[i + 1]);
                    push(m);
                    break;
                }
                case 's': {  // SETITEM
                    Object v = pop(), k = pop();
                    setItem(peek(), k, v);
                    break;
                }
                case 'u': {  // SETITEMS
                    Object[] items = popMark();
                    if (items.length % 2 != 0) throw error("SETITEMS with an odd number of items");
                    Object target = peek();
                    for (int i = 0; i < items.length; i += 2) setItem(target, items[i], items[i + 1]);
                    break;
                }
                case 0x8f:  // EMPTY_SET
                    push(new LinkedHashSet<>());
                    break;
                case 0x90: {  // ADDITEMS
                    Object[] items = popMark();
                    Object target = peek();
                    if (!(target instanceof LinkedHashSet<?>))
                        throw error("ADDITEMS on " + Values.aTypeOf(target) + ", not a set");
                    addAll(target, Arrays.asList(items));
                    break;
                }
                case 0x91: {  // FROZENSET
                    Set<Object> s = new LinkedHashSet<>();
                    addAll(s, Arrays.asList(popMark()));
                    push(Collections.unmodifiableSet(s));
                    break;
                }
                case 'g':  // GET
                    push(memoGet(parseIndex(in.line())));
                    break;
                case 'h':  // BINGET
                    push(memoGet(in.u8()));
                    break;
                case 'j':  // LONG_BINGET
                    push(memoGet(in.u32()));
                    break;
                case 'p':  // PUT
                    memoPut(parseIndex(in.line()), peek());
                    break;
                case 'q':  // BINPUT
                    memoPut(in.u8(), peek());
                    break;
                case 'r':  // LONG_BINPUT
                    memoPut(in.u32(), peek());
                    break;
                case 0x94:  // MEMOIZE
                    memoPut(memoSize, peek());
                    break;
                case 'c': {  // GLOBAL
                    String module = in.line();
                    push(new PyGlobal(module, in.line()));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n))
                        throw error("STACK_GLOBAL needs two strings, got " + Values.typeOf(module) + " and "
                                + Values.typeOf(name));
                    push(new PyGlobal(m, n));
                    break;
                }
                case 'R': {  // REDUCE
                    Object args = pop(), callable = pop();
                    push(call(callable, args));
                    break;
                }
                case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
                    Object args = pop(), cls = pop();
                    push(call(cls, args));
                    break;
                }
                case 0x92: {  // NEWOBJ_EX: keyword arguments are dropped
                    pop();
                    Object args = pop(), cls = pop();
                    push(call(cls, args));
                    break;
                }
                case 'i': {  // INST (protocol 0)
                    String module = in.line();
                    PyGlobal cls = new PyGlobal(module, in.line());
                    push(call(cls, new PyTuple(popMark())));
                    break;
                }
                case 'o': {  // OBJ (protocol 1)
                    Object[] items = popMark();
                    if (items.length == 0) throw error("OBJ without a class");
                    push(call(items[0], new PyTuple(Arrays.copyOfRange(items, 1, items.length))));
                    break;
                }
                case 'b': {  // BUILD
                    Object state = pop();
                    Object target = peek();
                    if (target instanceof PyObject o) o.setState(state);
                    // Anything else (an OrderedDict's attributes such as a state dict's _metadata): dropped.
                    break;
                }
                case 'P':  // PERSID (text)
                    push(loader.persistentLoad(in.line(), this));
                    break;
                case 'Q':  // BINPERSID
                    push(loader.persistentLoad(pop(), this));
                    break;
                case 0x82:
                case 0x83:
                case 0x84:
                    throw error(String.format("unsupported opcode 0x%02x (EXT%d: the copyreg extension registry)",
                            op, op == 0x82 ? 1 : op == 0x83 ? 2 : 4));
                case 0x97:
                case 0x98:
                    throw error(String.format("unsupported opcode 0x%02x (out-of-band buffers of protocol 5)", op));
                default:
                    throw error(String.format("unknown pickle opcode 0x%02x%s", op,
                            op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
            }
        }
    }

    // ---- stack ----

    private void push(Object v) {
        if (sp == stack.length) stack = Arrays.copyOf(stack, sp * 2);
        stack[sp++] = v;
    }

    private Object pop() throws TorchSaveException {
        if (sp <= frame) throw error("stack underflow");
        Object v = stack[--sp];
        stack[sp] = null;
        return v;
    }

    private Object peek() throws TorchSaveException {
        if (sp <= frame) throw error("stack underflow");
        return stack[sp - 1];
    }

    /** The items above the topmost mark, which is removed. */
    private Object[] popMark() throws TorchSaveException {
        if (markCount == 0) throw error("no MARK on the stack");
        Object[] items = Arrays.copyOfRange(stack, frame, sp);
        Arrays.fill(stack, frame, sp, null);
        sp = frame;
        frame = marks[--markCount];
        return items;
    }

    // ---- memo ----

    private Object memoGet(long index) throws TorchSaveException {
        Object v = index < memo.length ? memo[(int) index] : bigMemo != null ? bigMemo.getOrDefault(index, MISSING)
                : MISSING;
        if (v == MISSING) throw error("memo key " + index + " was never stored");
        return v;
    }

    private void memoPut(long index, Object v) {
        if (index < (1 << 16)) {
            if (index >= memo.length) {
                int old = memo.length;
                memo = Arrays.copyOf(memo, (int) Math.max(index + 1, 2L * old));
                Arrays.fill(memo, old, memo.length, MISSING);
            }
            if (memo[(int) index] == MISSING) ++memoSize;
            memo[(int) index] = v;
        } else {
            if (bigMemo == null) bigMemo = new HashMap<>();
            if (bigMemo.put(index, v) == null) ++memoSize;
        }
    }

    // ---- containers ----

    @SuppressWarnings("unchecked")
    private void append(Object target, Object v) throws TorchSaveException {
        if (target instanceof ArrayList<?> l) ((List<Object>) l).add(v);
        else if (target instanceof PyObject o) o.append(v);
        else throw error("APPEND to " + Values.aTypeOf(target) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private void setItem(Object target, Object k, Object v) throws TorchSaveException {
        if (target instanceof LinkedHashMap<?, ?> m) {
            checkHashable(k, 0);
            ((Map<Object, Object>) m).put(k, v);
        } else if (target instanceof PyObject o) {
            checkHashable(k, 0);
            o.put(k, v);
        } else {
            throw error("SETITEM on " + Values.aTypeOf(target) + ", not a dict");
        }
    }

    @SuppressWarnings("unchecked")
    private void addAll(Object set, Collection<?> items) throws TorchSaveException {
        for (Object v : items) {
            checkHashable(v, 0);
            ((Set<Object>) set).add(v);
        }
    }

    /**
     * Python's rule: dict keys and set elements must be hashable (no lists, dicts or sets). This also keeps Java's
     * recursive hashCode away from cyclic structures a corrupt file could build.
     */
    private void checkHashable(Object k, int depth) throws TorchSaveException {
        if (depth > MAX_KEY_DEPTH) throw error("a dict key or set element nested over " + MAX_KEY_DEPTH + " deep");
        if (k instanceof PyTuple t) {
            for (Object o : t) checkHashable(o, depth + 1);
        } else if (k instanceof List<?> || k instanceof Map<?, ?> || k instanceof LinkedHashSet<?>) {
            throw error("unhashable " + Values.typeOf(k) + " used as a dict key or set element");
        } else if (k instanceof Set<?> frozen) {
            for (Object o : frozen) checkHashable(o, depth + 1);
        }
    }

    // ---- calls ----

    private Object call(Object callable, Object argsObject) throws IOException {
        if (!(callable instanceof PyGlobal g))
            throw error("cannot call " + Values.aTypeOf(callable) + " (REDUCE/NEWOBJ needs a class or function)");
        if (!(argsObject instanceof PyTuple args))
            throw error("arguments of " + g.qualifiedName() + " are " + Values.aTypeOf(argsObject) + ", not a tuple");
        String module = g.module();
        if (module.equals("torch") || module.startsWith("torch.")) return loader.callTorch(g, args, this);
        switch (g.qualifiedName()) {
            case "collections.OrderedDict":
            case "collections.defaultdict":  // the default factory is dropped
            case "builtins.dict":
            case "__builtin__.dict": {
                Map<Object, Object> m = new LinkedHashMap<>();
                Object init = args.isEmpty() || g.name().equals("defaultdict") ? null : args.get(0);
                if (g.name().equals("defaultdict") && args.size() > 1) init = args.get(1);
                if (init instanceof Map<?, ?> src) {
                    for (Map.Entry<?, ?> e : src.entrySet()) setItem(m, e.getKey(), e.getValue());
                } else if (init instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (!(p instanceof List<?> kv) || kv.size() != 2)
                            throw error(g.qualifiedName() + " given " + Values.aTypeOf(p)
                                    + ", not a (key, value) pair");
                        setItem(m, kv.get(0), kv.get(1));
                    }
                } else if (init != null) {
                    throw error(g.qualifiedName() + " given " + Values.aTypeOf(init));
                }
                return m;
            }
            case "builtins.list":
            case "__builtin__.list":
                return args.isEmpty() ? new ArrayList<>() : new ArrayList<>(iterable(g, args.get(0)));
            case "builtins.set":
            case "__builtin__.set":
            case "builtins.frozenset":
            case "__builtin__.frozenset": {
                Set<Object> s = new LinkedHashSet<>();
                if (!args.isEmpty()) addAll(s, iterable(g, args.get(0)));
                return g.name().equals("set") ? s : Collections.unmodifiableSet(s);
            }
            case "builtins.bytearray":
            case "__builtin__.bytearray":
            case "builtins.bytes":
            case "__builtin__.bytes":
            case "_codecs.encode": {
                byte[] b = bytesOf(args);
                if (b != null) return b;
                break;
            }
            case "copyreg._reconstructor":
            case "copy_reg._reconstructor":
                if (args.size() == 3 && args.get(0) instanceof PyGlobal cls) return call(cls, PyTuple.EMPTY);
                break;
            default:
                break;
        }
        return new PyObject(g, args);
    }

    private List<?> iterable(PyGlobal g, Object v) throws TorchSaveException {
        if (v instanceof List<?> l) return l;
        if (v instanceof Set<?> s) return new ArrayList<>(s);
        throw error(g.qualifiedName() + " given " + Values.aTypeOf(v) + ", not a list");
    }

    /** bytes / bytearray arguments: none, bytes, or (str, encoding) as protocol 2 writes Python 3 bytes. */
    private static byte[] bytesOf(PyTuple args) {
        if (args.isEmpty()) return new byte[0];
        Object a = args.get(0);
        if (a instanceof byte[] b) return b.clone();
        if (a instanceof String s) {
            String enc = args.size() > 1 && args.get(1) instanceof String e ? e.toLowerCase().replace('_', '-') : "";
            if (enc.equals("latin1") || enc.equals("latin-1") || enc.equals("iso-8859-1"))
                return s.getBytes(StandardCharsets.ISO_8859_1);
            if (enc.equals("utf-8") || enc.equals("utf8")) return s.getBytes(StandardCharsets.UTF_8);
            if (enc.equals("ascii")) return s.getBytes(StandardCharsets.US_ASCII);
        }
        return null;
    }

    // ---- scalars ----

    private Object parseInt(String s) throws TorchSaveException {
        if (s.equals("00")) return Boolean.FALSE;
        if (s.equals("01")) return Boolean.TRUE;
        return parseLong(s);
    }

    private Object parseLong(String s) throws TorchSaveException {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            try {
                return normalize(new BigInteger(s.trim()));
            } catch (NumberFormatException e2) {
                throw error("bad integer literal '" + truncate(s) + "'");
            }
        }
    }

    private Object parseFloat(String s) throws TorchSaveException {
        switch (s.trim().toLowerCase()) {
            case "nan": case "-nan": return Double.NaN;
            case "inf": return Double.POSITIVE_INFINITY;
            case "-inf": return Double.NEGATIVE_INFINITY;
            default: break;
        }
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw error("bad float literal '" + truncate(s) + "'");
        }
    }

    private long parseIndex(String s) throws TorchSaveException {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) throw error("negative memo key " + v);
            return v;
        } catch (NumberFormatException e) {
            throw error("bad memo key '" + truncate(s) + "'");
        }
    }

    private static String truncate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** A little-endian two's complement integer, as a Long when it fits. */
    static Object decodeLong(byte[] b) {
        if (b.length == 0) return 0L;
        if (b.length <= 8) {
            long v = b[b.length - 1];  // sign-extends
            for (int i = b.length - 2; i >= 0; --i) v = v << 8 | (b[i] & 0xff);
            return v;
        }
        byte[] be = new byte[b.length];
        for (int i = 0; i < b.length; ++i) be[i] = b[b.length - 1 - i];
        return normalize(new BigInteger(be));
    }

    private static Object normalize(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** A Python 2 str: decoded as UTF-8 (torch.load's default encoding), bad bytes replaced. */
    private static String pyString(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** The bytes of a Python 2 string literal ({@code 'abc'} or {@code "abc"} with backslash escapes). */
    private byte[] unquote(byte[] lit) throws TorchSaveException {
        int n = lit.length;
        while (n > 0 && (lit[n - 1] == '\r' || lit[n - 1] == ' ')) --n;
        if (n < 2 || lit[0] != lit[n - 1] || (lit[0] != '\'' && lit[0] != '"'))
            throw error("STRING argument is not a quoted string literal");
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        for (int i = 1; i < n - 1; ++i) {
            int c = lit[i] & 0xff;
            if (c != '\\') {
                out.write(c);
                continue;
            }
            if (++i >= n - 1) throw error("STRING literal ends with a backslash");
            c = lit[i];
            switch (c) {
                case '\\': case '\'': case '"': out.write(c); break;
                case 'n': out.write('\n'); break;
                case 'r': out.write('\r'); break;
                case 't': out.write('\t'); break;
                case 'a': out.write(7); break;
                case 'b': out.write('\b'); break;
                case 'f': out.write('\f'); break;
                case 'v': out.write(11); break;
                case '\n': break;
                case 'x': {
                    if (i + 2 > n - 2) throw error("bad \\x escape in a STRING literal");
                    out.write(hex(lit[i + 1]) << 4 | hex(lit[i + 2]));
                    i += 2;
                    break;
                }
                default:
                    if (c >= '0' && c <= '7') {
                        int v = c - '0', k = 1;
                        while (k < 3 && i + 1 < n - 1 && lit[i + 1] >= '0' && lit[i + 1] <= '7') {
                            v = v * 8 + (lit[++i] - '0');
                            ++k;
                        }
                        out.write(v & 0xff);
                    } else {
                        out.write('\\');  // Python keeps unknown escapes as they are
                        out.write(c);
                    }
            }
        }
        return out.toByteArray();
    }

    private int hex(byte c) throws TorchSaveException {
        int v = Character.digit(c, 16);
        if (v < 0) throw error("bad hex digit in an escape");
        return v;
    }

    /** Python's raw-unicode-escape: bytes are Latin-1 characters except {@code \\uXXXX} and {@code \\UXXXXXXXX}. */
    private String rawUnicodeEscape(byte[] b) throws TorchSaveException {
        StringBuilder s = new StringBuilder(b.length);
        for (int i = 0; i < b.length; ++i) {
            int c = b[i] & 0xff;
            if (c == '\\' && i + 1 < b.length && (b[i + 1] == 'u' || b[i + 1] == 'U')) {
                int digits = b[i + 1] == 'u' ? 4 : 8;
                if (i + 2 + digits > b.length) throw error("bad \\u escape in a UNICODE argument");
                int cp = 0;
                for (int k = 0; k < digits; ++k) cp = cp << 4 | hex(b[i + 2 + k]);
                if (cp < 0 || cp > Character.MAX_CODE_POINT) throw error("bad code point in a UNICODE argument");
                s.appendCodePoint(cp);
                i += 1 + digits;
            } else {
                s.append((char) c);
            }
        }
        return s.toString();
    }
}
