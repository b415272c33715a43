package org.relabel4j.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A read-only little-endian view of {@code [offset, offset + length)} of a memory mapping, of any length: Java 17's
 * {@link ByteBuffer}s stop at 2 GiB, so the region is cut into chunks aligned to multiples of the chunk size from
 * the mapping's start (1 GiB by default) and every accessor takes a {@code long} offset. Values that the store
 * format aligns (u64 at 8-byte, u32 at 4-byte offsets from a 64-byte aligned region) never straddle two chunks
 * when the chunk size is a multiple of 8; byte ranges may and are copied piecewise.
 */
final class MappedRegion {
    static final int DEFAULT_CHUNK_BITS = 30;

    private final ByteBuffer[] chunks;
    private final long offset, length;
    private final int chunkBits;
    private final long chunkMask;

    /**
     * A view of {@code [offset, offset + length)} of the mapping at {@code base}. {@code chunkBits} sets the chunk size
     * (2^chunkBits bytes, at least 8; tests use small chunks to reach the straddling paths without gigabytes).
     */
    MappedRegion(Pointer base, long offset, long length, int chunkBits) {
        if (chunkBits < 3 || chunkBits > 30) throw new IllegalArgumentException("chunkBits " + chunkBits);
        if (offset < 0 || length < 0) throw new IllegalArgumentException("region [" + offset + ", +" + length + ")");
        this.offset = offset;
        this.length = length;
        this.chunkBits = chunkBits;
        this.chunkMask = (1L << chunkBits) - 1;
        long end = offset + length;
        long first = offset >>> chunkBits, last = length == 0 ? first - 1 : (end - 1) >>> chunkBits;
        long n = last - first + 1;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("region of " + length + " bytes");
        chunks = new ByteBuffer[(int) n];
        for (int i = 0; i < n; ++i) {
            long from = Math.max(offset, (first + i) << chunkBits);
            long to = Math.min(end, (first + i + 1) << chunkBits);
            // buffers index from the chunk's start in mapping coordinates: chunk c covers [c << bits, (c+1) << bits)
            long chunkStart = (first + i) << chunkBits;
            ByteBuffer b = new BytePointer(base).getPointer(chunkStart).limit(to - chunkStart).asByteBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.position((int) (from - chunkStart));
            chunks[i] = b;
        }
    }

    MappedRegion(Pointer base, long offset, long length) {
        this(base, offset, length, DEFAULT_CHUNK_BITS);
    }

    long length() {
        return length;
    }

    private ByteBuffer chunk(long absolute) {
        return chunks[(int) ((absolute >>> chunkBits) - (offset >>> chunkBits))];
    }

    private long check(long at, long bytes) {
        if (at < 0 || bytes < 0 || at > length - bytes)
            throw new IndexOutOfBoundsException("[" + at + ", +" + bytes + ") outside a region of " + length + " bytes");
        return offset + at;
    }

    /** The u64/i64 at {@code at} (bytes from the region's start); must not straddle a chunk (8-byte aligned). */
    long getLong(long at) {
        long a = check(at, 8);
        if ((a & chunkMask) > chunkMask - 7) return straddled(a, 8);
        return chunk(a).getLong((int) (a & chunkMask));
    }

    /** The 32-bit value at {@code at}. */
    int getInt(long at) {
        long a = check(at, 4);
        if ((a & chunkMask) > chunkMask - 3) return (int) straddled(a, 4);
        return chunk(a).getInt((int) (a & chunkMask));
    }

    byte get(long at) {
        long a = check(at, 1);
        return chunk(a).get((int) (a & chunkMask));
    }

    /** Little-endian value of {@code bytes} bytes that cross a chunk boundary (unaligned data only). */
    private long straddled(long a, int bytes) {
        long v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | (chunk(a + i).get((int) ((a + i) & chunkMask)) & 0xffL);
        return v;
    }

    /** Copies {@code len} bytes at {@code at} into {@code dst[off...]}. */
    void get(long at, byte[] dst, int off, int len) {
        long a = check(at, len);
        while (len > 0) {
            int in = (int) (a & chunkMask);
            int n = (int) Math.min(len, (chunkMask + 1) - in);
            chunk(a).get(in, dst, off, n);
            a += n;
            off += n;
            len -= n;
        }
    }

    /** Compares the bytes at {@code at} (length {@code len}) with {@code key}, unsigned, shorter prefix first. */
    int compare(long at, long len, byte[] key) {
        long a = check(at, len);
        int n = (int) Math.min(len, key.length);
        int i = 0;
        while (i < n) {
            ByteBuffer c = chunk(a + i);
            int in = (int) ((a + i) & chunkMask);
            int m = (int) Math.min(n - i, (chunkMask + 1) - in);
            for (int j = 0; j < m; ++j) {
                int x = c.get(in + j) & 0xff, y = key[i + j] & 0xff;
                if (x != y) return x - y;
            }
            i += m;
        }
        return Long.compare(len, key.length);
    }

    /** Feeds the whole region to {@code crc}, chunk by chunk. */
    void update(CRC32C crc) {
        for (ByteBuffer c : chunks) crc.update(c.duplicate());
    }

    /** The CRC32C of the whole region. */
    int crc() {
        CRC32C c = new CRC32C();
        update(c);
        return (int) c.getValue();
    }
}
