package org.relabel4j.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads a tar file's member headers in place: POSIX ustar (name prefix), GNU (long names {@code L}, base-256 sizes)
 * and PAX ({@code path}, {@code size} records) formats, as written by GNU tar, Python's tarfile (WebDataset) and
 * commons-compress. Member data is skipped by position; headers and small members are read through a 16 KiB
 * window, so a shard of small members costs a few reads per window and one of large members about one read per
 * member. Checksums are verified. One instance per file and thread.
 */
final class TarScanner {
    /** A regular-file member. */
    interface Visitor {
        void member(String name, long dataOffset, long size) throws IOException;
    }

    private static final int BLOCK = 512, WINDOW = 16 * 1024, MAX_EXTENDED_HEADER = 1 << 20;

    private final FileChannel channel;
    private final Path file;
    private final long fileSize;
    private final byte[] window = new byte[WINDOW];
    private long windowStart = -1;
    private int windowLength;

    TarScanner(FileChannel channel, Path file) throws IOException {
        this.channel = channel;
        this.file = file;
        this.fileSize = channel.size();
    }

    /** Calls {@code visitor} for each regular file, in archive order. */
    void scan(Visitor visitor) throws IOException {
        long pos = 0;
        String longName = null, paxPath = null;
        long paxSize = -1;
        while (true) {
            if (pos + BLOCK > fileSize) {
                if (pos == fileSize && pos > 0) return;  // no end-of-archive blocks: accepted, as tar does
                throw error(pos, pos == 0 ? "not a tar file (" + fileSize + " bytes)" : "truncated tar header");
            }
            int h = load(pos, BLOCK);
            if (zero(h)) return;  // end of archive
            checkChecksum(h, pos);
            byte type = window[h + 156];
            long size = number(h + 124, 12, pos, "size");
            String name = paxPath != null ? paxPath : longName != null ? longName : ustarName(h);
            long data = pos + BLOCK;
            switch (type) {
                case 'x' -> {  // PAX header of the next member
                    byte[] records = bytes(data, size, pos, "PAX header");
                    String[] pathAndSize = pax(records, pos);
                    if (pathAndSize[0] != null) paxPath = pathAndSize[0];
                    if (pathAndSize[1] != null) paxSize = parsePaxSize(pathAndSize[1], pos);
                }
                case 'L' -> longName = cString(bytes(data, size, pos, "GNU long name"));
                case 'K', 'g' -> {}  // long link name; PAX global header (nothing here applies to members)
                default -> {
                    if (paxSize >= 0) size = paxSize;
                    if (type == '0' || type == 0 || type == '7') {
                        if (data + size > fileSize) throw error(pos, "member " + name + " extends past the end of the file");
                        visitor.member(name, data, size);
                    } else if (type == 'S') {
                        throw error(pos, "member " + name + " is a GNU sparse file");
                    }
                    longName = null;
                    paxPath = null;
                    paxSize = -1;
                }
            }
            pos = data + (size + BLOCK - 1) / BLOCK * BLOCK;
        }
    }

    /** {@code n} bytes at {@code pos}, through the window when they fit in it. */
    byte[] read(long pos, int n) throws IOException {
        if (n <= WINDOW) {
            int at = load(pos, n);
            return Arrays.copyOfRange(window, at, at + n);
        }
        byte[] out = new byte[n];
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.hasRemaining())
            if (channel.read(b, pos + b.position()) < 0) throw error(pos, "truncated tar member");
        return out;
    }

    /** Makes [pos, pos + n) (n <= WINDOW) available in the window; returns its index there. */
    private int load(long pos, int n) throws IOException {
        if (windowStart >= 0 && pos >= windowStart && pos + n <= windowStart + windowLength) return (int) (pos - windowStart);
        ByteBuffer b = ByteBuffer.wrap(window, 0, (int) Math.min(WINDOW, Math.max(n, fileSize - pos)));
        windowStart = pos;
        windowLength = 0;
        while (b.hasRemaining()) {
            if (channel.read(b, pos + b.position()) < 0) break;
        }
        windowLength = b.position();
        if (windowLength < n) throw error(pos, "truncated tar file");
        return 0;
    }

    private byte[] bytes(long pos, long size, long header, String what) throws IOException {
        if (size > MAX_EXTENDED_HEADER) throw error(header, what + " of " + size + " bytes");
        if (pos + size > fileSize) throw error(header, "truncated " + what);
        return read(pos, (int) size);
    }

    private boolean zero(int h) {
        for (int i = h; i < h + BLOCK; i++) if (window[i] != 0) return false;
        return true;
    }

    private void checkChecksum(int h, long pos) throws IOException {
        long unsigned = 0, signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = i >= 148 && i < 156 ? ' ' : window[h + i];
            unsigned += b & 0xFF;
            signed += b;
        }
        long stored = number(h + 148, 8, pos, "checksum");
        if (stored != unsigned && stored != signed) throw error(pos, "not a tar header (checksum mismatch)");
    }

    /** An octal field (NUL/space padded) or a GNU base-256 field (high bit of the first byte set). */
    private long number(int at, int length, long pos, String field) throws IOException {
        if ((window[at] & 0x80) != 0) {
            if ((window[at] & 0x40) != 0) throw error(pos, "negative " + field);
            long v = window[at] & 0x3F;
            for (int i = 1; i < length; i++) {
                if (v > (Long.MAX_VALUE >> 8)) throw error(pos, field + " too large");
                v = (v << 8) | (window[at + i] & 0xFF);
            }
            return v;
        }
        int i = at, end = at + length;
        while (i < end && (window[i] == ' ' || window[i] == 0)) i++;
        long v = 0;
        boolean digits = false;
        for (; i < end && window[i] >= '0' && window[i] <= '7'; i++) {
            if (v > (Long.MAX_VALUE >> 3)) throw error(pos, field + " too large");
            v = (v << 3) | (window[i] - '0');
            digits = true;
        }
        if (i < end && window[i] != ' ' && window[i] != 0) throw error(pos, "not a tar header (bad " + field + " field)");
        if (!digits && !field.equals("size")) throw error(pos, "not a tar header (empty " + field + " field)");
        return v;
    }

    /** name, or prefix/name for POSIX ustar headers (magic "ustar\0"; GNU's "ustar  " has no prefix). */
    private String ustarName(int h) {
        String name = field(h, 100);
        boolean posix = window[h + 257] == 'u' && window[h + 258] == 's' && window[h + 259] == 't' && window[h + 260] == 'a'
                && window[h + 261] == 'r' && window[h + 262] == 0;
        if (posix) {
            String prefix = field(h + 345, 155);
            if (!prefix.isEmpty()) return prefix + "/" + name;
        }
        return name;
    }

    private String field(int at, int length) {
        int end = at;
        while (end < at + length && window[end] != 0) end++;
        return new String(window, at, end - at, StandardCharsets.UTF_8);
    }

    private static String cString(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) end++;
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    /** The {@code path} and {@code size} values of PAX records ("LEN key=value\n"), null when absent. */
    private String[] pax(byte[] r, long pos) throws IOException {
        String[] out = new String[2];
        int i = 0;
        while (i < r.length) {
            if (r[i] == 0) break;  // padding
            int len = 0, j = i;
            while (j < r.length && r[j] >= '0' && r[j] <= '9' && len < 1 << 24) len = len * 10 + (r[j++] - '0');
            if (j >= r.length || r[j] != ' ' || len <= j - i + 1 || i + len > r.length) throw error(pos, "corrupt PAX header");
            int eq = j + 1;
            while (eq < i + len && r[eq] != '=') eq++;
            if (eq >= i + len) throw error(pos, "corrupt PAX header");
            String key = new String(r, j + 1, eq - j - 1, StandardCharsets.UTF_8);
            int valueEnd = i + len - 1;  // the record ends with '\n'
            String value = new String(r, eq + 1, Math.max(0, valueEnd - eq - 1), StandardCharsets.UTF_8);
            if (key.equals("path")) out[0] = value;
            else if (key.equals("size")) out[1] = value;
            else if (key.startsWith("GNU.sparse.")) throw error(pos, "GNU sparse member (PAX)");
            i += len;
        }
        return out;
    }

    private long parsePaxSize(String s, long pos) throws IOException {
        try {
            long v = Long.parseLong(s.strip());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw error(pos, "bad PAX size '" + s + "'");
        }
    }

    private DatasetException error(long pos, String what) {
        return new DatasetException(file + ": " + what + " at offset " + pos);
    }
}
