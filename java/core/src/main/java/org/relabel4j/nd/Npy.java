package org.relabel4j.nd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.relabel4j.io.AtomicFiles;

/** Reads and writes NumPy {@code .npy} files (format 1.0-3.0 read, 1.0 written; little-endian, C order). */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** Reads a whole .npy file. Errors name the file and what is wrong with it. */
    public static NdArray read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw bad(file, "is a directory, expected a .npy file");
        if (Files.exists(file) && !Files.isRegularFile(file)) throw bad(file, "is not a regular file (a device or a pipe?)");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(12, size)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head, 0);
            head.flip();
            byte[] magic = new byte[6];
            if (head.remaining() < 10) throw bad(file, "too short to be a .npy file (" + size + " bytes)");
            head.get(magic);
            for (int i = 0; i < MAGIC.length; ++i) {
                if (magic[i] != MAGIC[i]) throw bad(file, "not a .npy file (bad magic)");
            }
            int major = head.get() & 0xff;
            head.get();  // minor
            long headerLength;
            int prefix;
            if (major == 1) {
                headerLength = head.getShort() & 0xffff;
                prefix = 10;
            } else if (major == 2 || major == 3) {
                if (head.remaining() < 4) throw bad(file, "truncated header");
                headerLength = head.getInt() & 0xffffffffL;
                prefix = 12;
            } else {
                throw bad(file, "unsupported .npy format version " + major);
            }
            if (prefix + headerLength > size) throw bad(file, "truncated header");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLength);
            readFully(ch, hb, prefix);
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
            if (!d.find() || !f.find() || !s.find()) throw bad(file, "malformed header: " + header.trim());
            String descr = d.group(1);
            if (descr.startsWith(">")) throw bad(file, "big-endian dtype '" + descr + "' is not supported");
            DType dtype;
            try {
                dtype = DType.ofNpyDescr(descr);
            } catch (IllegalArgumentException e) {
                throw bad(file, e.getMessage());
            }
            if (f.group(1).equals("True")) throw bad(file, "Fortran-order arrays are not supported");
            List<Long> dims = new ArrayList<>();
            for (String part : s.group(1).split(",")) {
                if (!part.isBlank()) dims.add(Long.parseLong(part.trim()));
            }
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            long bytes;
            try {
                bytes = Math.multiplyExact(NdArray.numel(shape), (long) dtype.size());
            } catch (ArithmeticException | IllegalArgumentException e) {
                throw bad(file, "invalid shape " + s.group(1));
            }
            long dataStart = prefix + headerLength;
            if (size - dataStart < bytes)
                throw bad(file, "truncated data: shape (" + s.group(1).trim() + ") of " + descr + " needs " + bytes
                        + " bytes, the file has " + (size - dataStart));
            if (bytes > Integer.MAX_VALUE) throw bad(file, "arrays above 2 GiB are not supported (" + bytes + " bytes)");
            NdArray array = NdArray.zeros(dtype, shape);
            ByteBuffer target = array.buffer();
            readFully(ch, target, dataStart);
            return array;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) throw new IOException("unexpected end of file");
            pos += n;
        }
    }

    private static IOException bad(Path file, String what) {
        return new IOException(file + ": " + what);
    }

    /** Writes {@code array} atomically: into a temporary file next to {@code file}, then renamed over it. */
    public static void write(Path file, NdArray array) throws IOException {
        if (array.dtype().npyDescr() == null)
            throw new IllegalArgumentException(array.dtype().label() + " has no .npy representation");
        StringBuilder shape = new StringBuilder("(");
        long[] dims = array.shape();
        for (int i = 0; i < dims.length; ++i) shape.append(dims[i]).append(dims.length == 1 ? "," : i + 1 < dims.length ? ", " : "");
        shape.append(")");
        String dict = "{'descr': '" + array.dtype().npyDescr() + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteBuffer head = ByteBuffer.allocate(10 + header.length()).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        head.put(header.getBytes(StandardCharsets.ISO_8859_1)).flip();

        AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                while (head.hasRemaining()) ch.write(head);
                ByteBuffer data = array.buffer();
                while (data.hasRemaining()) ch.write(data);
            }
        });
    }
}
