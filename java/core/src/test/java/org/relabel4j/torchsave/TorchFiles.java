package org.relabel4j.torchsave;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** Test helpers that write torch.save files byte by byte: a tiny pickle writer and both container formats. */
public final class TorchFiles {
    private TorchFiles() {}

    /** Builds a pickle opcode by opcode (protocol 2 unless told otherwise). */
    public static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Pickle proto(int v) {
            return op(0x80).raw(v);
        }

        public Pickle op(int opcode) {
            out.write(opcode);
            return this;
        }

        public Pickle raw(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        public Pickle text(String line) {
            out.writeBytes((line + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        public Pickle global(String module, String name) {
            return op('c').text(module).text(name);
        }

        public Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X').le(b.length, 4);
            out.writeBytes(b);
            return this;
        }

        public Pickle integer(long v) {
            if (v >= 0 && v < 256) return op('K').raw((int) v);
            if (v >= 0 && v < 65536) return op('M').le(v, 2);
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return op('J').le(v, 4);
            return op(0x8a).raw(8).le(v, 8);
        }

        public Pickle le(long v, int n) {
            for (int i = 0; i < n; ++i) out.write((int) (v >>> (8 * i)) & 0xff);
            return this;
        }

        public Pickle mark() {
            return op('(');
        }

        public Pickle tuple() {
            return op('t');
        }

        public Pickle ints(long... values) {
            mark();
            for (long v : values) integer(v);
            return tuple();
        }

        public Pickle none() {
            return op('N');
        }

        public Pickle bool(boolean b) {
            return op(b ? 0x88 : 0x89);
        }

        public Pickle reduce() {
            return op('R');
        }

        public Pickle stop() {
            return op('.');
        }

        /** ('storage', torch.&lt;type&gt;, key, 'cpu', numel) BINPERSID, as the zip format writes it. */
        public Pickle storage(String type, String key, long numel) {
            mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple();
            return op('Q');
        }

        /** The legacy persistent id: one more field, the view metadata (or None). */
        public Pickle legacyStorage(String type, String key, long numel, String viewKey, long viewOffset, long viewSize) {
            mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel);
            if (viewKey == null) none();
            else mark().str(viewKey).integer(viewOffset).integer(viewSize).tuple();
            return tuple().op('Q');
        }

        /** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()); {@code storage} writes 1st. */
        public Pickle tensor(Runnable storage, long offset, long[] shape, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").mark();
            storage.run();
            integer(offset).ints(shape).ints(stride).bool(false);
            global("collections", "OrderedDict").op(')').reduce();
            return tuple().reduce();
        }

        public byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** A zip-format file: {@code prefix/data.pkl}, {@code prefix/data/<key>} per storage, {@code prefix/version}. */
    public static void writeZip(Path file, String prefix, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put(prefix + "/data.pkl", pickle);
        for (Map.Entry<String, byte[]> e : storages.entrySet())
            entries.put(prefix + "/data/" + e.getKey(), e.getValue());
        entries.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        writeEntries(file, entries);
    }

    /** A zip of stored entries, in order. */
    public static void writeEntries(Path file, Map<String, byte[]> entries) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                z.setMethod(ZipEntry.STORED);
                z.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setCrc(crc.getValue());
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    /** The entries of a zip, in order. */
    public static Map<String, byte[]> readEntries(Path file) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {  // torch's stored entries have data descriptors
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                try (InputStream in = zip.getInputStream(e)) {
                    out.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return out;
    }

    /** Rewrites a zip with each entry passed through {@code edit} (null drops the entry). */
    public static void rewriteZip(Path from, Path to, java.util.function.BiFunction<String, byte[], byte[]> edit)
            throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : readEntries(from).entrySet()) {
            byte[] b = edit.apply(e.getKey(), e.getValue());
            if (b != null) out.put(e.getKey(), b);
        }
        writeEntries(to, out);
    }

    /** A legacy-format file: magic, protocol, sys_info, the main pickle, the key list, then each storage. */
    public static void writeLegacy(Path file, byte[] main, List<String> keys, List<byte[]> storages, List<Long> numels)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new Pickle().proto(2).op(0x8a)
                .raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).stop().bytes());
        out.writeBytes(new Pickle().proto(2).integer(1001).stop().bytes());
        out.writeBytes(new Pickle().proto(2).op('}').mark().str("protocol_version").integer(1001).str("little_endian")
                .bool(true).op('u').stop().bytes());
        out.writeBytes(main);
        Pickle list = new Pickle().proto(2).op(']').mark();
        for (String k : keys) list.str(k);
        out.writeBytes(list.op('e').stop().bytes());
        for (int i = 0; i < storages.size(); ++i) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(numels.get(i)).array());
            out.writeBytes(storages.get(i));
        }
        Files.write(file, out.toByteArray());
    }

    public static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    /** A test resource under torchsave/, copied to {@code dir} (tests read resources through files). */
    public static Path resource(String name, Path dir) {
        try (InputStream in = TorchFiles.class.getResourceAsStream("/torchsave/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource torchsave/" + name);
            Path p = dir.resolve(name);
            Files.write(p, in.readAllBytes());
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
