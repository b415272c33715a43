package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Sequential reads of a pickle in the region {@code [start, end)} of a {@link ByteSource}: straight from the file's
 * array when it is in memory, else through a refilled buffer. Reads past the region throw
 * {@link ByteSource.EndOfData}; lengths read from the pickle are checked against what is left before anything is
 * allocated.
 */
final class PickleInput {
    private final ByteSource src;
    private final long end;
    private final boolean direct;
    private byte[] buf;
    private long bufStart;
    private int pos;
    private int lim;

    PickleInput(ByteSource src, long start, long end) {
        this.src = src;
        this.end = end;
        byte[] whole = src.array();
        this.direct = whole != null;
        if (direct) {
            buf = whole;
            bufStart = 0;
            pos = (int) start;
            lim = (int) end;
        } else {
            buf = new byte[0];
            bufStart = start;
        }
    }

    long position() {
        return bufStart + pos;
    }

    long remaining() {
        return end - position();
    }

    /** Makes {@code n} bytes available at {@code pos}. */
    private void ensure(int n) throws IOException {
        if (lim - pos >= n) return;
        long p = position();
        if (n > end - p) throw new ByteSource.EndOfData("the pickle ends at byte " + end);
        if (direct) throw new IllegalStateException("in-memory input cannot refill");
        int cap = (int) Math.min(Math.max(n, 1 << 16), end - p);
        if (buf.length < cap) buf = new byte[cap];
        src.read(p, ByteBuffer.wrap(buf, 0, cap));
        bufStart = p;
        pos = 0;
        lim = cap;
    }

    int u8() throws IOException {
        if (pos >= lim) ensure(1);
        return buf[pos++] & 0xff;
    }

    int u16() throws IOException {
        ensure(2);
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    int i32() throws IOException {
        ensure(4);
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | buf[pos + 3] << 24;
        pos += 4;
        return v;
    }

    long u32() throws IOException {
        return i32() & 0xffffffffL;
    }

    long i64() throws IOException {
        long lo = u32();
        return lo | ((long) i32() << 32);
    }

    double f64BigEndian() throws IOException {
        ensure(8);
        long v = 0;
        for (int i = 0; i < 8; ++i) v = v << 8 | (buf[pos + i] & 0xff);
        pos += 8;
        return Double.longBitsToDouble(v);
    }

    /** Checks that {@code n} bytes remain and that they fit a Java array. */
    int length(long n) throws IOException {
        if (n < 0 || n > remaining())
            throw new ByteSource.EndOfData("a length of " + n + " bytes runs past the end of the pickle ("
                    + remaining() + " bytes left)");
        if (n > Integer.MAX_VALUE - 16) throw new ByteSource.EndOfData("a length of " + n + " bytes is too large");
        return (int) n;
    }

    byte[] bytes(long n) throws IOException {
        int len = length(n);
        ensure(len);
        byte[] out = new byte[len];
        System.arraycopy(buf, pos, out, 0, len);
        pos += len;
        return out;
    }

    String utf8(long n) throws IOException {
        int len = length(n);
        ensure(len);
        String s = new String(buf, pos, len, StandardCharsets.UTF_8);
        pos += len;
        return s;
    }

    /** The bytes up to the next newline (consumed, not returned). */
    byte[] lineBytes() throws IOException {
        while (true) {
            for (int i = pos; i < lim; ++i) {
                if (buf[i] == '\n') {
                    byte[] out = new byte[i - pos];
                    System.arraycopy(buf, pos, out, 0, out.length);
                    pos = i + 1;
                    return out;
                }
            }
            long have = lim - pos;
            if (have >= remaining())
                throw new ByteSource.EndOfData("a text argument has no end of line before the end of the pickle");
            ensure((int) Math.min(remaining(), Math.max(2 * have, 256)));
        }
    }

    String line() throws IOException {
        return new String(lineBytes(), StandardCharsets.UTF_8);
    }
}
