package org.relabel4j.torchsave;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * Writes files that PyTorch's {@code torch.load} reads, in pure Java: the zip format of {@code torch.save} (torch
 * &gt;= 1.6), with a protocol 2 pickle as torch writes it.
 *
 * <p>The archive holds {@code archive/data.pkl}, {@code archive/byteorder} ({@code little}), one stored entry
 * {@code archive/data/<key>} per tensor (keys {@code 0}, {@code 1}, ... in the order the tensors appear), and
 * {@code archive/version} ({@code 3}). Every entry's data starts on a 64-byte boundary, as torch's own writer
 * aligns them; entries are stored (not compressed), with their CRC-32; zip64 records are written when an entry, an
 * offset or the entry count needs them, so there is no size limit other than the 2 GiB of one {@link NdArray}.
 *
 * <p>Values map to Python like this:
 * <ul>
 *   <li>{@link NdArray}, {@link TorchTensor}, {@link Deferred}: a CPU tensor ({@code torch._utils._rebuild_tensor_v2}
 *       over a typed storage, contiguous, {@code requires_grad=False}); float32, float16, bfloat16, float64, int64,
 *       int32, uint8 and bool (uint16 is refused: torch before 2.3 has no uint16 storage);
 *   <li>any {@link Map} (string, integer or other supported keys): a {@code collections.OrderedDict} in the map's
 *       iteration order (a state dict is an OrderedDict; OrderedDict is a dict, and {@code weights_only} loading
 *       allows it);
 *   <li>{@link String}: {@code str}; {@link Integer}, {@link Long}, {@link Short}, {@link Byte}, {@link BigInteger}:
 *       {@code int}; {@link Double}, {@link Float}: {@code float}; {@link Boolean}: {@code bool}; null:
 *       {@code None};
 *   <li>{@link PyTuple}: {@code tuple}; any other {@link List} or an {@code Object[]}: {@code list}; a
 *       {@code byte[]}: {@code bytes}.
 * </ul>
 * Each tensor gets its own storage (two references to one {@link NdArray} are written twice). The file is written
 * to a temporary name next to it and renamed when complete, so a reader never sees half a file.
 *
 * <p>Verified with PyTorch 1.13 ({@code torch.load} of float32, float16, int64 tensors, state dicts that
 * {@code load_state_dict} accepts, nested checkpoint dicts, and zip64 archives) and, in the tests, with
 * {@link TorchSave}. Not thread-safe per call; calls share nothing.
 */
public final class TorchSaveWriter {
    /** Torch's record alignment (caffe2::serialize kFieldAlignment). */
    static final int ALIGNMENT = 64;
    private static final String ARCHIVE = "archive";
    private static final long U32 = 0xffffffffL;

    /**
     * A tensor whose data is produced only when the writer reaches it (for example copied off a GPU one tensor at a
     * time), so that a whole state dict never needs to be held on the host at once. {@code data} must return an
     * array of exactly this dtype and shape; it is called once.
     */
    public record Deferred(DType dtype, long[] shape, Supplier<NdArray> data) {
        public Deferred {
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(data, "data");
            shape = shape.clone();
        }
    }

    /** Testing knob: write zip64 records for every entry and the end record, as for files over 4 GiB. */
    boolean forceZip64;

    private TorchSaveWriter() {}

    /** Writes {@code value} (see the class comment) as torch.save would, to {@code file} (replaced atomically). */
    public static void write(Path file, Object value) throws IOException {
        new TorchSaveWriter().save(file, value);
    }

    /** Writes a state dict: an OrderedDict of tensors (NdArray, TorchTensor or Deferred values) by name. */
    public static void writeStateDict(Path file, Map<String, ?> tensors) throws IOException {
        write(file, tensors);
    }

    static void write(Path file, Object value, boolean forceZip64) throws IOException {
        TorchSaveWriter w = new TorchSaveWriter();
        w.forceZip64 = forceZip64;
        w.save(file, value);
    }

    // ---- the pickle ----

    /** A tensor met while pickling: its storage key, and where its data comes from. */
    private record PendingTensor(String key, DType dtype, long[] shape, Object source) {}

    private static final class Pickler {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final List<PendingTensor> tensors = new ArrayList<>();
        final Map<String, Integer> memo = new HashMap<>();
        int depth;

        void op(int opcode) {
            out.write(opcode);
        }

        void le(long v, int n) {
            for (int i = 0; i < n; ++i) out.write((int) (v >>> (8 * i)) & 0xff);
        }

        /** GLOBAL, memoized (BINPUT the first time, BINGET after). */
        void global(String module, String name) {
            String k = module + "\n" + name;
            Integer at = memo.get(k);
            if (at != null) {
                if (at < 256) {
                    op('h');
                    le(at, 1);
                } else {
                    op('j');
                    le(at, 4);
                }
                return;
            }
            op('c');
            out.writeBytes((k + "\n").getBytes(StandardCharsets.US_ASCII));
            int id = memo.size();
            memo.put(k, id);
            if (id < 256) {
                op('q');
                le(id, 1);
            } else {
                op('r');
                le(id, 4);
            }
        }

        void str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            le(b.length, 4);
            out.writeBytes(b);
        }

        void integer(long v) {
            if (v >= 0 && v < 256) {
                op('K');
                le(v, 1);
            } else if (v >= 0 && v < 65536) {
                op('M');
                le(v, 2);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');
                le(v, 4);
            } else {
                bigInteger(BigInteger.valueOf(v));
            }
        }

        void bigInteger(BigInteger v) {
            if (v.bitLength() < 32) {
                integer(v.longValue());
                return;
            }
            byte[] be = v.toByteArray();  // two's complement, big-endian, minimal
            if (be.length > 255) {
                op(0x8b);  // LONG4
                le(be.length, 4);
            } else {
                op(0x8a);  // LONG1
                le(be.length, 1);
            }
            for (int i = be.length - 1; i >= 0; --i) out.write(be[i]);
        }

        void ints(long[] values) {
            switch (values.length) {
                case 0: op(')'); return;
                case 1: integer(values[0]); op(0x85); return;
                case 2: integer(values[0]); integer(values[1]); op(0x86); return;
                case 3: integer(values[0]); integer(values[1]); integer(values[2]); op(0x87); return;
                default:
                    op('(');
                    for (long v : values) integer(v);
                    op('t');
            }
        }

        void value(Object v) {
            if (++depth > 200) throw new IllegalArgumentException("nesting deeper than 200 levels (a cycle?)");
            try {
                valueAt(v);
            } finally {
                --depth;
            }
        }

        private void valueAt(Object v) {
            if (v == null) {
                op('N');
            } else if (v instanceof Boolean b) {
                op(b ? 0x88 : 0x89);
            } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                integer(((Number) v).longValue());
            } else if (v instanceof BigInteger b) {
                bigInteger(b);
            } else if (v instanceof Double || v instanceof Float) {
                op('G');
                long bits = Double.doubleToRawLongBits(((Number) v).doubleValue());
                for (int i = 7; i >= 0; --i) out.write((int) (bits >>> (8 * i)) & 0xff);
            } else if (v instanceof String s) {
                str(s);
            } else if (v instanceof byte[] b) {
                if (b.length < 256) {
                    op('C');  // SHORT_BINBYTES (protocol 3; Python 3's unpickler reads it whatever the PROTO)
                    le(b.length, 1);
                } else {
                    op('B');
                    le(b.length, 4);
                }
                out.writeBytes(b);
            } else if (v instanceof NdArray a) {
                tensor(a.dtype(), a.shape(), a);
            } else if (v instanceof TorchTensor t) {
                tensor(t.dtype(), t.shape(), t.data());
            } else if (v instanceof Deferred d) {
                tensor(d.dtype(), d.shape(), d);
            } else if (v instanceof Map<?, ?> m) {
                global("collections", "OrderedDict");
                op(')');
                op('R');
                int n = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (n % 1000 == 0) {
                        if (n > 0) op('u');
                        op('(');
                    }
                    value(e.getKey());
                    value(e.getValue());
                    ++n;
                }
                if (n > 0) op('u');
            } else if (v instanceof PyTuple t) {
                op('(');
                for (Object o : t) value(o);
                op('t');
            } else if (v instanceof List<?> l) {
                list(l);
            } else if (v instanceof Object[] a) {
                list(Arrays.asList(a));
            } else {
                throw new IllegalArgumentException("cannot write a " + v.getClass().getName()
                        + " to a torch.save file (supported: tensors as NdArray/TorchTensor/Deferred, Map, List, "
                        + "String, numbers, Boolean, null)");
            }
        }

        private void list(List<?> l) {
            op(']');
            int n = 0;
            for (Object o : l) {
                if (n % 1000 == 0) {
                    if (n > 0) op('e');
                    op('(');
                }
                value(o);
                ++n;
            }
            if (n > 0) op('e');
        }

        void tensor(DType dtype, long[] shape, Object source) {
            String storage = storageName(dtype);
            String key = Integer.toString(tensors.size());
            long numel = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                numel = Math.multiplyExact(numel, d);
            }
            tensors.add(new PendingTensor(key, dtype, shape.clone(), source));
            global("torch._utils", "_rebuild_tensor_v2");
            op('(');
            op('(');                      // the persistent id: ('storage', type, key, location, numel)
            str("storage");
            global("torch", storage);
            str(key);
            str("cpu");
            integer(numel);
            op('t');
            op('Q');                      // BINPERSID
            integer(0);                   // storage offset
            ints(shape);
            ints(contiguousStrides(shape));
            op(0x89);                     // requires_grad=False
            global("collections", "OrderedDict");  // backward hooks
            op(')');
            op('R');
            op('t');
            op('R');
        }

        byte[] finish(Object root) {
            op(0x80);
            le(2, 1);
            value(root);
            op('.');
            return out.toByteArray();
        }
    }

    static String storageName(DType dtype) {
        switch (dtype) {
            case FLOAT32: return "FloatStorage";
            case FLOAT16: return "HalfStorage";
            case BFLOAT16: return "BFloat16Storage";
            case FLOAT64: return "DoubleStorage";
            case INT64: return "LongStorage";
            case INT32: return "IntStorage";
            case UINT8: return "ByteStorage";
            case BOOL: return "BoolStorage";
            default:
                throw new IllegalArgumentException("cannot write a " + dtype.label() + " tensor: torch.save files "
                        + "of torch < 2.3 have no " + dtype.label() + " storage (convert it, e.g. to int32)");
        }
    }

    /** torch's strides of a contiguous tensor (a zero-size dimension counts as 1). */
    static long[] contiguousStrides(long[] shape) {
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; --i) {
            stride[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return stride;
    }

    // ---- the zip archive ----

    private record Written(String name, long crc, long size, long localHeader) {}

    private void save(Path file, Object value) throws IOException {
        Objects.requireNonNull(file, "file");
        Pickler p = new Pickler();
        byte[] pickle = p.finish(value);
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                List<Written> entries = new ArrayList<>();
                entries.add(entry(ch, ARCHIVE + "/data.pkl", ByteBuffer.wrap(pickle)));
                entries.add(entry(ch, ARCHIVE + "/byteorder",
                        ByteBuffer.wrap("little".getBytes(StandardCharsets.US_ASCII))));
                for (PendingTensor t : p.tensors) {
                    NdArray data = data(t);
                    entries.add(entry(ch, ARCHIVE + "/data/" + t.key(), data.buffer()));
                }
                entries.add(entry(ch, ARCHIVE + "/version", ByteBuffer.wrap("3\n".getBytes(StandardCharsets.US_ASCII))));
                centralDirectory(ch, entries);
                ch.force(false);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    private static NdArray data(PendingTensor t) {
        NdArray a;
        if (t.source() instanceof Deferred d) {
            a = d.data().get();
            if (a == null) throw new IllegalStateException("deferred tensor " + t.key() + " produced null");
        } else {
            a = (NdArray) t.source();
            if (a == null) throw new IllegalArgumentException("a TorchTensor without data (tensor " + t.key() + ")");
        }
        if (a.dtype() != t.dtype() || !Arrays.equals(a.shape(), t.shape()))
            throw new IllegalStateException("tensor " + t.key() + " was declared " + t.dtype().label()
                    + Arrays.toString(t.shape()) + " but its data is " + a.dtype().label()
                    + Arrays.toString(a.shape()));
        return a;
    }

    private Written entry(FileChannel ch, String name, ByteBuffer data) throws IOException {
        long size = data.remaining();
        CRC32 crc = new CRC32();
        crc.update(data.duplicate());
        long offset = ch.position();
        boolean zip64 = forceZip64 || size >= U32;
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        int zip64Extra = zip64 ? 20 : 0;
        int misaligned = (int) ((offset + 30 + nameBytes.length + zip64Extra) % ALIGNMENT);
        int padExtra = misaligned == 0 ? 0 : ALIGNMENT - misaligned;
        if (padExtra > 0 && padExtra < 4) padExtra += ALIGNMENT;  // the padding field needs its 4-byte header
        ByteBuffer h = ByteBuffer.allocate(30 + nameBytes.length + zip64Extra + padExtra).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0x04034b50);
        h.putShort((short) (zip64 ? 45 : 20));  // version needed
        h.putShort((short) 0);                  // flags
        h.putShort((short) 0);                  // stored
        h.putShort((short) 0).putShort((short) 0x21);  // time 00:00, date 1980-01-01
        h.putInt((int) crc.getValue());
        h.putInt((int) (zip64 ? U32 : size));
        h.putInt((int) (zip64 ? U32 : size));
        h.putShort((short) nameBytes.length);
        h.putShort((short) (zip64Extra + padExtra));
        h.put(nameBytes);
        if (zip64) {
            h.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        }
        if (padExtra > 0) {
            h.putShort((short) 0x4246).putShort((short) (padExtra - 4));  // "FB", torch's padding field
            h.put(new byte[padExtra - 4]);
        }
        h.flip();
        writeFully(ch, h);
        writeFully(ch, data.duplicate());
        return new Written(name, crc.getValue(), size, offset);
    }

    private void centralDirectory(FileChannel ch, List<Written> entries) throws IOException {
        long cdStart = ch.position();
        for (Written e : entries) {
            boolean zip64 = forceZip64 || e.size() >= U32 || e.localHeader() >= U32;
            byte[] nameBytes = e.name().getBytes(StandardCharsets.UTF_8);
            int extra = zip64 ? 28 : 0;
            ByteBuffer c = ByteBuffer.allocate(46 + nameBytes.length + extra).order(ByteOrder.LITTLE_ENDIAN);
            c.putInt(0x02014b50);
            c.putShort((short) (zip64 ? 45 : 20));  // version made by
            c.putShort((short) (zip64 ? 45 : 20));  // version needed
            c.putShort((short) 0);
            c.putShort((short) 0);
            c.putShort((short) 0).putShort((short) 0x21);
            c.putInt((int) e.crc());
            c.putInt((int) (zip64 ? U32 : e.size()));
            c.putInt((int) (zip64 ? U32 : e.size()));
            c.putShort((short) nameBytes.length);
            c.putShort((short) extra);
            c.putShort((short) 0);  // comment
            c.putShort((short) 0);  // disk
            c.putShort((short) 0);  // internal attributes
            c.putInt(0);            // external attributes
            c.putInt((int) (zip64 ? U32 : e.localHeader()));
            c.put(nameBytes);
            if (zip64) c.putShort((short) 1).putShort((short) 24).putLong(e.size()).putLong(e.size()).putLong(e.localHeader());
            c.flip();
            writeFully(ch, c);
        }
        long cdEnd = ch.position(), cdSize = cdEnd - cdStart;
        long count = entries.size();
        boolean zip64 = forceZip64 || count >= 0xffff || cdStart >= U32 || cdSize >= U32;
        ByteBuffer end = ByteBuffer.allocate((zip64 ? 56 + 20 : 0) + 22).order(ByteOrder.LITTLE_ENDIAN);
        if (zip64) {
            end.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0);
            end.putLong(count).putLong(count).putLong(cdSize).putLong(cdStart);
            end.putInt(0x07064b50).putInt(0).putLong(cdEnd).putInt(1);
        }
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0);
        end.putShort((short) (zip64 ? 0xffff : count)).putShort((short) (zip64 ? 0xffff : count));
        end.putInt((int) (zip64 ? U32 : cdSize)).putInt((int) (zip64 ? U32 : cdStart));
        end.putShort((short) 0);
        end.flip();
        writeFully(ch, end);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
