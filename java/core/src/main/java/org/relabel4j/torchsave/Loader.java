package org.relabel4j.torchsave;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * Reads one torch.save file: detects the format, runs the pickle(s), locates the storages and finally copies every
 * tensor's elements out of the file. One instance per file, not thread-safe.
 */
final class Loader {
    /** torch.serialization.MAGIC_NUMBER, the first pickle of a legacy file. */
    private static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL = 1001;

    private final Path file;
    private final ByteSource src;
    private ZipDirectory zip;
    private String prefix;
    private boolean legacy;
    private boolean bigEndian;
    /** Storages by key (the roots, for the legacy format). */
    private final Map<String, Storage> storages = new HashMap<>();
    /** Legacy storage views by view key. */
    private Map<String, Storage> views;
    private final List<TorchTensor> tensors = new ArrayList<>();

    Loader(Path file, ByteSource src) {
        this.file = file;
        this.src = src;
    }

    TorchSaveException error(String message) {
        return new TorchSaveException(file, message);
    }

    Object load() throws IOException {
        long size = src.size();
        if (size == 0) throw error("not a torch.save file: the file is empty");
        ByteBuffer head = src.slice(0, (int) Math.min(size, 8));
        int first = head.get(0) & 0xff;
        Object result;
        if (size >= 4 && (head.getInt(0) == 0x04034b50 || head.getInt(0) == 0x06054b50)) {
            result = loadZip();
        } else if (first == 0x80 || first == 'L') {  // PROTO, or the magic number's LONG at protocol 1
            result = loadLegacy();
        } else if (size >= 262 && ascii(257, 5).equals("ustar")) {
            throw error("a tar archive: the tar format of torch < 0.4 is not supported (load and re-save it with a "
                    + "newer torch)");
        } else {
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < head.limit(); ++i) hex.append(String.format("%02x ", head.get(i) & 0xff));
            throw error("not a torch.save file: neither a zip archive nor a pickle (it starts with bytes "
                    + hex.toString().trim() + ")");
        }
        materialize();
        return result;
    }

    private String ascii(long pos, int length) throws IOException {
        ByteBuffer b = src.slice(pos, length);
        byte[] a = new byte[length];
        b.get(a);
        return new String(a, StandardCharsets.ISO_8859_1);
    }

    private TorchSaveException tooLarge(long numel, String type) {
        return error("a storage of " + numel + " elements of " + type + " is too large");
    }

    // ---- zip format (torch >= 1.6) ----

    private Object loadZip() throws IOException {
        zip = ZipDirectory.read(src, this);
        ZipDirectory.Entry pkl = null;
        String firstPrefix = null;
        for (ZipDirectory.Entry e : zip.entries.values()) {
            String n = e.name();
            int slash = n.indexOf('/');
            if (firstPrefix == null && slash > 0) firstPrefix = n.substring(0, slash);
            if (slash > 0 && slash == n.length() - 9 && n.endsWith("/data.pkl")) {
                if (pkl == null || n.substring(0, slash).equals(firstPrefix)) pkl = e;
            }
        }
        if (pkl == null) {
            List<String> names = new ArrayList<>(zip.entries.keySet());
            throw error("not a torch.save file: a zip archive without a '<name>/data.pkl' entry (entries: "
                    + (names.size() > 8 ? names.subList(0, 8) + " and " + (names.size() - 8) + " more" : names)
                    + ")");
        }
        prefix = pkl.name().substring(0, pkl.name().length() - 9);
        ZipDirectory.Entry order = zip.get(prefix + "/byteorder");
        if (order != null) {
            long at = zip.dataOffset(order);
            if (order.size() > 16) throw error("bad " + order.name() + " entry (" + order.size() + " bytes)");
            String s = ascii(at, (int) order.size()).trim();
            if (s.equals("big")) bigEndian = true;
            else if (!s.equals("little")) throw error("unknown byte order '" + s + "' in " + order.name());
        }
        long start = zip.dataOffset(pkl);
        return new Unpickler(new PickleInput(src, start, start + pkl.size()), this, pkl.name(), start).load();
    }

    private Storage zipStorage(PyTuple id, Unpickler u) throws IOException {
        if (id.size() != 5)
            throw u.error("a storage persistent id with " + id.size()
                    + " fields (a zip-format file has 5: 'storage', type, key, location, numel)");
        StorageType type = storageType(id.get(1), u);
        String key = text(id.get(2), "storage key", u);
        String location = text(id.get(3), "storage location", u);
        long numel = count(id.get(4), "storage numel", u);
        Storage s = storages.get(key);
        if (s != null) return s;
        String name = prefix + "/data/" + key;
        ZipDirectory.Entry e = zip.get(name);
        if (e == null)
            throw error("missing data entry '" + name + "' for storage key '" + key + "' (" + type.name + ", "
                    + numel + " elements)");
        if (numel > Long.MAX_VALUE / type.elementSize()) throw tooLarge(numel, type.name);
        long nbytes = numel * type.elementSize();
        if (e.size() != nbytes)
            throw error("storage numel mismatch: entry '" + name + "' holds " + e.size() + " bytes, but the pickle "
                    + "declares " + numel + " elements of " + type.name + " (" + nbytes + " bytes)");
        s = new Storage(key, type.dtype, numel, location, type.name);
        s.dataPos = zip.dataOffset(e);
        storages.put(key, s);
        return s;
    }

    // ---- legacy format (torch < 1.6 or _use_new_zipfile_serialization=False) ----

    private Object loadLegacy() throws IOException {
        legacy = true;
        PickleInput in = new PickleInput(src, 0, src.size());
        Object magic;
        try {
            magic = new Unpickler(in, this, "pickle 1 (magic number)", 0).load();
        } catch (TorchSaveException e) {
            String why = e.getMessage().substring(file.toString().length() + 2);
            throw error("not a torch.save file: no zip archive, and no pickle of torch's magic number (" + why + ")");
        }
        if (!(magic instanceof BigInteger m && m.equals(MAGIC)))
            throw error("not a torch.save file: bad magic number (the first pickle holds "
                    + Values.describeShort(magic) + ", torch writes 0x" + MAGIC.toString(16) + ")");
        Object protocol = new Unpickler(in, this, "pickle 2 (protocol version)", 0).load();
        if (!(protocol instanceof Long p && p == LEGACY_PROTOCOL))
            throw error("unsupported legacy protocol version " + Values.describeShort(protocol) + " (expected "
                    + LEGACY_PROTOCOL + ")");
        Object sysInfo = new Unpickler(in, this, "pickle 3 (system info)", 0).load();
        if (sysInfo instanceof Map<?, ?> info && Boolean.FALSE.equals(info.get("little_endian")))
            throw error("saved on a big-endian machine: big-endian legacy files are not supported");
        Object result = new Unpickler(in, this, "pickle 4 (the saved object)", 0).load();
        Object keys = new Unpickler(in, this, "pickle 5 (storage keys)", 0).load();
        if (!(keys instanceof List<?> keyList))
            throw error("malformed legacy file: the storage key pickle holds " + Values.aTypeOf(keys)
                    + ", not a list");
        long pos = in.position(), size = src.size();
        for (Object k : keyList) {
            if (!(k instanceof String key))
                throw error("malformed legacy file: a storage key is " + Values.aTypeOf(k) + ", not a str");
            Storage s = storages.get(key);
            if (s == null)
                throw error("malformed legacy file: storage key '" + key + "' is listed but no tensor uses it");
            if (s.dataPos >= 0) throw error("malformed legacy file: storage key '" + key + "' is listed twice");
            if (pos > size - 8)
                throw error("truncated file: the data of storage '" + key + "' should start at byte " + pos
                        + ", but the file has " + size + " bytes");
            long count = src.slice(pos, 8).getLong(0);
            if (count != s.numel)
                throw error("storage numel mismatch: storage '" + key + "' has " + count + " elements in the file, "
                        + "but the pickle declares " + s.numel + " (" + s.typeName + ")");
            long nbytes = s.nbytes();
            if (nbytes > size - pos - 8)
                throw error("truncated file: storage '" + key + "' needs bytes up to " + (pos + 8 + nbytes)
                        + ", but the file has " + size);
            s.dataPos = pos + 8;
            pos += 8 + nbytes;
        }
        for (Storage s : storages.values()) {
            if (s.dataPos < 0)
                throw error("malformed legacy file: storage '" + s.key + "' (" + s.typeName
                        + ") is used but not in the storage list");
        }
        return result;
    }

    private Object legacyStorage(PyTuple id, Unpickler u) throws IOException {
        if (id.size() != 6)
            throw u.error("a storage persistent id with " + id.size()
                    + " fields (a legacy file has 6: 'storage', type, key, location, numel, view)");
        StorageType type = storageType(id.get(1), u);
        String key = text(id.get(2), "storage key", u);
        String location = text(id.get(3), "storage location", u);
        long numel = count(id.get(4), "storage numel", u);
        if (numel > Long.MAX_VALUE / type.elementSize()) throw tooLarge(numel, type.name);
        Storage root = storages.get(key);
        if (root == null) {
            root = new Storage(key, type.dtype, numel, location, type.name);
            storages.put(key, root);
        }
        Object view = id.get(5);
        if (view == null) return root;
        if (!(view instanceof PyTuple v) || v.size() != 3)
            throw u.error("storage view metadata is " + Values.aTypeOf(view) + ", not (key, offset, size)");
        String viewKey = text(v.get(0), "storage view key", u);
        if (views == null) views = new HashMap<>();
        Storage s = views.get(viewKey);
        if (s == null) {
            long offset = count(v.get(1), "storage view offset", u), length = count(v.get(2), "storage view size", u);
            if (offset > root.numel || length > root.numel - offset)
                throw error("storage view out of bounds: view '" + viewKey + "' of " + length + " elements at "
                        + offset + " in storage '" + key + "' of " + root.numel + " elements");
            s = new Storage(viewKey, root, offset, length);
            views.put(viewKey, s);
        }
        return s;
    }

    // ---- persistent ids and torch callables ----

    Object persistentLoad(Object pid, Unpickler u) throws IOException {
        if (!(pid instanceof PyTuple id) || id.isEmpty())
            throw u.error("unsupported persistent id: " + Values.aTypeOf(pid) + ", not a tuple");
        Object kind = id.get(0) instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1) : id.get(0);
        if (legacy && "module".equals(kind) && id.size() >= 2) return id.get(1);  // a saved nn.Module's class
        if (!"storage".equals(kind))
            throw u.error("unsupported persistent id of kind " + Values.describeShort(kind));
        if (zip == null && !legacy) throw u.error("a persistent id where none is expected");
        return legacy ? legacyStorage(id, u) : zipStorage(id, u);
    }

    /** Calls a {@code torch.*} callable: tensor rebuilds, torch.Size; anything else becomes a placeholder. */
    Object callTorch(PyGlobal g, PyTuple a, Unpickler u) throws IOException {
        String name = g.qualifiedName();
        switch (name) {
            case "torch._utils._rebuild_tensor":  // (storage, offset, size, stride)
                arity(name, a, 4, 4, u);
                return tensor(name, a, null, false, u);
            case "torch._utils._rebuild_tensor_v2":  // (storage, offset, size, stride, requires_grad, hooks[, meta])
                arity(name, a, 6, 7, u);
                return tensor(name, a, null, Boolean.TRUE.equals(a.get(4)), u);
            case "torch._utils._rebuild_tensor_v3":  // (..., requires_grad, hooks, dtype[, metadata])
                arity(name, a, 7, 8, u);
                return tensor(name, a, dtypeOf(a.get(6), u), Boolean.TRUE.equals(a.get(4)), u);
            case "torch._utils._rebuild_parameter":  // (data, requires_grad, hooks)
            case "torch._utils._rebuild_parameter_with_state": {  // (data, requires_grad, hooks, state)
                arity(name, a, 3, 4, u);
                if (!(a.get(0) instanceof TorchTensor t))
                    throw u.error(name + ": the data is " + Values.aTypeOf(a.get(0)) + ", not a tensor");
                TorchTensor p = t.withRequiresGrad(Boolean.TRUE.equals(a.get(1)));
                if (p != t) tensors.add(p);  // shares t's view, so its data is read once
                return p;
            }
            case "torch._tensor._rebuild_from_type_v2":  // (func, new_type, args, state): tensor subclasses
            case "torch._utils._rebuild_from_type_v2": {
                arity(name, a, 4, 4, u);
                if (a.get(0) instanceof PyGlobal f && a.get(2) instanceof PyTuple args
                        && (f.module().equals("torch") || f.module().startsWith("torch."))
                        && !f.name().equals("_rebuild_from_type_v2"))  // torch never nests it: no deep recursion
                    return callTorch(f, args, u);
                return new PyObject(g, a);
            }
            case "torch.nn.parameter.Parameter": {  // how torch < 0.4 pickled parameters: (data[, requires_grad])
                if (!a.isEmpty() && a.size() <= 2 && a.get(0) instanceof TorchTensor t) {
                    TorchTensor p = t.withRequiresGrad(a.size() < 2 || Boolean.TRUE.equals(a.get(1)));
                    if (p != t) tensors.add(p);
                    return p;
                }
                return new PyObject(g, a);
            }
            case "torch.Size":
                if (a.size() == 1 && a.get(0) instanceof List<?> l) return new PyTuple(l.toArray());
                return new PyObject(g, a);
            default:
                if (g.module().equals("torch._utils") && g.name().startsWith("_rebuild_"))
                    throw error("unsupported tensor kind " + name + " (" + hint(g.name()) + "): only dense tensors "
                            + "with storages can be read");
                return new PyObject(g, a);
        }
    }

    private static String hint(String rebuild) {
        if (rebuild.contains("qtensor")) return "a quantized tensor";
        if (rebuild.contains("sparse")) return "a sparse tensor";
        if (rebuild.contains("meta")) return "a meta tensor, which has no data";
        if (rebuild.contains("nested")) return "a nested tensor";
        if (rebuild.contains("numpy")) return "a tensor of a device saved through NumPy";
        return "not a plain tensor";
    }

    private static void arity(String name, PyTuple a, int min, int max, Unpickler u) throws TorchSaveException {
        if (a.size() < min || a.size() > max)
            throw u.error(name + " called with " + a.size() + " arguments (expected "
                    + (min == max ? "" + min : min + " to " + max) + ")");
    }

    private TorchTensor tensor(String fn, PyTuple a, DType explicit, boolean requiresGrad, Unpickler u)
            throws IOException {
        if (!(a.get(0) instanceof Storage s))
            throw u.error(fn + ": argument 1 is " + Values.aTypeOf(a.get(0)) + ", not a storage");
        long offset = count(a.get(1), fn + " storage offset", u);
        long[] shape = longs(a.get(2), fn + " size", u);
        long[] stride = longs(a.get(3), fn + " stride", u);
        if (shape.length != stride.length)
            throw u.error(fn + ": size " + Arrays.toString(shape) + " and stride " + Arrays.toString(stride)
                    + " differ in length");
        DType dtype = explicit != null ? explicit : s.dtype != null ? s.dtype : DType.UINT8;
        try {
            long numel = 1, last = offset;
            for (int i = 0; i < shape.length; ++i) {
                if (shape[i] < 0) throw u.error(describe(dtype, shape, stride, offset) + ": negative size");
                if (stride[i] < 0) throw u.error(describe(dtype, shape, stride, offset) + ": negative stride");
                numel = Math.multiplyExact(numel, shape[i]);
            }
            long nbytes = Math.multiplyExact(numel, (long) dtype.size());
            if (nbytes > Integer.MAX_VALUE - 8)
                throw error(describe(dtype, shape, stride, offset) + " has " + nbytes
                        + " bytes: tensors over 2 GiB are not supported");
            long storageElements = s.nbytes() / dtype.size();
            if (numel > 0) {
                for (int i = 0; i < shape.length; ++i)
                    last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
                if (last >= storageElements)
                    throw error("tensor view out of storage bounds: " + describe(dtype, shape, stride, offset)
                            + " reaches element " + last + ", but storage '" + s.key + "' has " + storageElements
                            + " " + dtype.label() + " elements");
            }
        } catch (ArithmeticException e) {
            throw u.error(describe(dtype, shape, stride, offset) + ": its size overflows");
        }
        TorchTensor t = new TorchTensor(new TorchTensor.View(s, dtype, offset, shape, stride), requiresGrad);
        tensors.add(t);
        return t;
    }

    private static String describe(DType dtype, long[] shape, long[] stride, long offset) {
        return "tensor " + dtype.label() + Arrays.toString(shape) + " (stride " + Arrays.toString(stride) + ", offset "
                + offset + ")";
    }

    // ---- element types ----

    private record StorageType(String name, DType dtype) {
        int elementSize() {
            return dtype == null ? 1 : dtype.size();
        }
    }

    private StorageType storageType(Object o, Unpickler u) throws TorchSaveException {
        if (!(o instanceof PyGlobal g) || !(g.module().equals("torch") || g.module().startsWith("torch.")))
            throw u.error("storage type is " + Values.aTypeOf(o) + ", not a torch storage class");
        String n = g.qualifiedName();
        switch (g.name()) {
            case "FloatStorage": return new StorageType(n, DType.FLOAT32);
            case "HalfStorage": return new StorageType(n, DType.FLOAT16);
            case "BFloat16Storage": return new StorageType(n, DType.BFLOAT16);
            case "DoubleStorage": return new StorageType(n, DType.FLOAT64);
            case "LongStorage": return new StorageType(n, DType.INT64);
            case "IntStorage": return new StorageType(n, DType.INT32);
            case "ByteStorage": return new StorageType(n, DType.UINT8);
            case "BoolStorage": return new StorageType(n, DType.BOOL);
            case "UntypedStorage":
            case "_UntypedStorage": return new StorageType(n, null);
            case "ShortStorage": throw unsupported("int16", n);
            case "CharStorage": throw unsupported("int8", n);
            case "ComplexFloatStorage": throw unsupported("complex64", n);
            case "ComplexDoubleStorage": throw unsupported("complex128", n);
            default:
                if (g.name().startsWith("Q")) throw unsupported("quantized", n);
                throw error("unsupported storage type " + n);
        }
    }

    private TorchSaveException unsupported(String dtype, String storage) {
        return error("unsupported dtype " + dtype + " (" + storage + "): org.relabel4j.nd.DType has no " + dtype);
    }

    /** The dtype argument of _rebuild_tensor_v3, a global such as {@code torch.float32}. */
    private DType dtypeOf(Object o, Unpickler u) throws TorchSaveException {
        if (!(o instanceof PyGlobal g) || !g.module().equals("torch"))
            throw u.error("_rebuild_tensor_v3: dtype is " + Values.aTypeOf(o) + ", not a torch dtype");
        switch (g.name()) {
            case "float32": case "float": return DType.FLOAT32;
            case "float16": case "half": return DType.FLOAT16;
            case "bfloat16": return DType.BFLOAT16;
            case "float64": case "double": return DType.FLOAT64;
            case "int64": case "long": return DType.INT64;
            case "int32": case "int": return DType.INT32;
            case "uint16": return DType.UINT16;
            case "uint8": return DType.UINT8;
            case "bool": return DType.BOOL;
            default: throw error("unsupported dtype " + g.name() + " (torch." + g.name()
                    + "): org.relabel4j.nd.DType has no " + g.name());
        }
    }

    // ---- argument helpers ----

    private static String text(Object o, String what, Unpickler u) throws TorchSaveException {
        if (o instanceof String s) return s;
        if (o instanceof byte[] b) return new String(b, StandardCharsets.UTF_8);
        if (o instanceof Long l) return l.toString();
        throw u.error(what + " is " + Values.aTypeOf(o) + ", not a str");
    }

    private static long count(Object o, String what, Unpickler u) throws TorchSaveException {
        if (!(o instanceof Long l) || l < 0)
            throw u.error(what + " is " + Values.describeShort(o) + ", not a non-negative int");
        return l;
    }

    private static long[] longs(Object o, String what, Unpickler u) throws TorchSaveException {
        if (!(o instanceof List<?> l))
            throw u.error(what + " is " + Values.aTypeOf(o) + ", not a tuple of ints");
        if (l.size() > 64) throw u.error(what + " has " + l.size() + " dimensions");
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; ++i) {
            if (!(l.get(i) instanceof Long v)) throw u.error(what + " holds " + Values.aTypeOf(l.get(i)));
            out[i] = v;
        }
        return out;
    }

    // ---- tensor data ----

    private void materialize() throws IOException {
        Map<TorchTensor.View, NdArray> done = new IdentityHashMap<>();
        for (TorchTensor t : tensors) {
            NdArray a = done.get(t.view);
            if (a == null) {
                a = read(t.view);
                done.put(t.view, a);
            }
            t.setData(a);
        }
    }

    private NdArray read(TorchTensor.View v) throws IOException {
        NdArray out;
        try {
            out = NdArray.zeros(v.dtype(), v.shape());
        } catch (OutOfMemoryError e) {
            throw error("not enough memory for tensor " + v.dtype().label() + Arrays.toString(v.shape()));
        }
        if (out.numel() == 0) return out;
        int e = v.dtype().size();
        long[] shape = v.shape(), stride = v.stride();
        long start = v.storage().position() + v.offset() * e;
        ByteBuffer dst = out.buffer();
        if (contiguous(shape, stride)) {
            src.read(start, dst);
        } else {
            long span = 1;
            for (int i = 0; i < shape.length; ++i) span += (shape[i] - 1) * stride[i];
            if (span * e > Integer.MAX_VALUE - 8)
                throw error("non-contiguous tensor " + v.dtype().label() + Arrays.toString(shape) + " spans "
                        + span * e + " bytes of its storage: over 2 GiB is not supported");
            gather(src.slice(start, (int) (span * e)), dst, shape, stride, e);
        }
        if (bigEndian && e > 1) swap(out.buffer(), e);
        return out;
    }

    private static boolean contiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; --d) {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /** Copies a strided view (elements of {@code e} bytes, strides in elements) into C order. */
    private static void gather(ByteBuffer in, ByteBuffer out, long[] shape, long[] stride, int e) {
        int r = shape.length;
        long inner = shape[r - 1], innerStride = stride[r - 1];
        long rows = 1;
        for (int d = 0; d < r - 1; ++d) rows *= shape[d];
        long[] idx = new long[r];
        long from = 0;
        int to = 0;
        int runBytes = (int) (inner * e);
        for (long row = 0; row < rows; ++row) {
            if (innerStride == 1) {
                out.put(to, in, (int) (from * e), runBytes);
                to += runBytes;
            } else {
                long s = from;
                for (long j = 0; j < inner; ++j, s += innerStride, to += e) {
                    int at = (int) (s * e);
                    switch (e) {
                        case 1: out.put(to, in.get(at)); break;
                        case 2: out.putShort(to, in.getShort(at)); break;
                        case 4: out.putInt(to, in.getInt(at)); break;
                        default: out.putLong(to, in.getLong(at)); break;
                    }
                }
            }
            for (int d = r - 2; d >= 0; --d) {
                from += stride[d];
                if (++idx[d] < shape[d]) break;
                from -= shape[d] * stride[d];
                idx[d] = 0;
            }
        }
    }

    private static void swap(ByteBuffer b, int e) {
        b.order(ByteOrder.LITTLE_ENDIAN);
        int n = b.capacity();
        switch (e) {
            case 2: for (int i = 0; i < n; i += 2) b.putShort(i, Short.reverseBytes(b.getShort(i))); break;
            case 4: for (int i = 0; i < n; i += 4) b.putInt(i, Integer.reverseBytes(b.getInt(i))); break;
            default: for (int i = 0; i < n; i += 8) b.putLong(i, Long.reverseBytes(b.getLong(i))); break;
        }
    }
}
