package org.relabel4j.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The key index of a store (docs/store-format.md): key end offsets in record order, record numbers sorted by key,
 * and the UTF-8 key bytes. Lookups binary-search the sorted numbers, comparing bytes in place: no per-record
 * objects.
 */
final class KeyIndex {
    private final ByteBuffer index;  // little-endian view of the whole region
    private final long count;
    private final int sortedAt, blobAt;

    private KeyIndex(ByteBuffer index, long count) {
        this.index = index;
        this.count = count;
        this.sortedAt = (int) (8 + 8 * count);
        this.blobAt = (int) (sortedAt + 4 * count);
    }

    /** A view over an encoded index region; checks its internal consistency. */
    static KeyIndex of(java.nio.file.Path file, ByteBuffer region, long expectedCount) throws StoreException {
        ByteBuffer b = region.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 8) throw new StoreException(file, "key index truncated");
        long count = b.getLong(0);
        if (count != expectedCount)
            throw new StoreException(file, "key index holds " + count + " keys for " + expectedCount + " records");
        long fixed = 8 + 12 * count;
        if (fixed > b.remaining()) throw new StoreException(file, "key index truncated: " + count + " keys need " + fixed + " bytes");
        KeyIndex k = new KeyIndex(b, count);
        long blobSize = b.remaining() - k.blobAt, previous = 0;
        for (long i = 0; i < count; ++i) {
            long end = b.getLong((int) (8 + 8 * i));
            if (end <= previous || end > blobSize)
                throw new StoreException(file, "key index corrupt at record " + i + " (key end " + end + ")");
            previous = end;
            long r = b.getInt((int) (k.sortedAt + 4 * i)) & 0xffffffffL;
            if (r >= count) throw new StoreException(file, "key index corrupt: sorted entry " + i + " = " + r);
        }
        return k;
    }

    long count() {
        return count;
    }

    String key(long record) {
        int start = (int) (record == 0 ? 0 : index.getLong((int) (8 + 8 * (record - 1))));
        int end = (int) index.getLong((int) (8 + 8 * record));
        byte[] k = new byte[end - start];
        index.get(blobAt + start, k);
        return new String(k, StandardCharsets.UTF_8);
    }

    /** The record whose key is {@code key}, or -1. */
    long find(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        long lo = 0, hi = count - 1;
        while (lo <= hi) {
            long mid = (lo + hi) >>> 1;
            long r = index.getInt((int) (sortedAt + 4 * mid)) & 0xffffffffL;
            int c = compareTo(r, k);
            if (c == 0) return r;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    private int compareTo(long record, byte[] key) {
        int start = (int) (record == 0 ? 0 : index.getLong((int) (8 + 8 * (record - 1))));
        int end = (int) index.getLong((int) (8 + 8 * record));
        int n = Math.min(end - start, key.length);
        for (int i = 0; i < n; ++i) {
            int a = index.get(blobAt + start + i) & 0xff, b = key[i] & 0xff;
            if (a != b) return a - b;
        }
        return (end - start) - key.length;
    }

    // ---- building (writer side) ----

    /** Record numbers 0..n-1 ordered by key bytes (unsigned, shorter prefix first). */
    static int[] sortedOrder(byte[] blob, long[] ends, int n) {
        int[] order = new int[n], tmp = new int[n];
        for (int i = 0; i < n; ++i) order[i] = i;
        mergeSort(blob, ends, order, tmp, 0, n);
        return order;
    }

    private static void mergeSort(byte[] blob, long[] ends, int[] a, int[] tmp, int from, int to) {
        if (to - from < 16) {
            for (int i = from + 1; i < to; ++i) {
                int v = a[i], j = i;
                while (j > from && compare(blob, ends, a[j - 1], v) > 0) {
                    a[j] = a[j - 1];
                    --j;
                }
                a[j] = v;
            }
            return;
        }
        int mid = (from + to) >>> 1;
        mergeSort(blob, ends, a, tmp, from, mid);
        mergeSort(blob, ends, a, tmp, mid, to);
        if (compare(blob, ends, a[mid - 1], a[mid]) <= 0) return;
        System.arraycopy(a, from, tmp, from, to - from);
        int i = from, j = mid, o = from;
        while (i < mid && j < to) a[o++] = compare(blob, ends, tmp[i], tmp[j]) <= 0 ? tmp[i++] : tmp[j++];
        while (i < mid) a[o++] = tmp[i++];
        while (j < to) a[o++] = tmp[j++];
    }

    static int compare(byte[] blob, long[] ends, int x, int y) {
        int xs = x == 0 ? 0 : (int) ends[x - 1], xe = (int) ends[x];
        int ys = y == 0 ? 0 : (int) ends[y - 1], ye = (int) ends[y];
        int n = Math.min(xe - xs, ye - ys);
        for (int i = 0; i < n; ++i) {
            int a = blob[xs + i] & 0xff, b = blob[ys + i] & 0xff;
            if (a != b) return a - b;
        }
        return (xe - xs) - (ye - ys);
    }

    /** The encoded region (heap buffer, position 0, limit = size). */
    static ByteBuffer encode(byte[] blob, int blobSize, long[] ends, int[] sorted, int n) {
        long size = 8 + 12L * n + blobSize;
        if (size > Integer.MAX_VALUE) throw new IllegalStateException("key index above 2 GiB");
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n);
        for (int i = 0; i < n; ++i) b.putLong(ends[i]);
        for (int i = 0; i < n; ++i) b.putInt(sorted[i]);
        b.put(blob, 0, blobSize);
        return b.flip();
    }
}
