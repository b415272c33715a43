package org.relabel4j.data;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;

/**
 * Relative paths of a dataset's samples in one UTF-8 byte array: per sample an int offset and a byte with the
 * length of the extension suffix (the key is the path without it). About {@code 5 + path bytes} bytes per sample,
 * against ~60 bytes more for a {@code String} per path; keys and paths become strings only when asked for.
 * Built by one thread, then read-only (safe for concurrent reads once published).
 */
final class PathTable {
    /** Comparison by Unicode code point (the order of Python's {@code sorted()} on str), not UTF-16 unit. */
    static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    };

    private byte[] bytes = new byte[1024];
    private int[] ends = new int[64];
    private byte[] suffixLengths = new byte[64];
    private int size, used;

    int size() {
        return size;
    }

    /** Appends {@code key + suffix} (the suffix, e.g. ".JPEG", is at most 255 UTF-8 bytes). */
    void add(String key, String suffix) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8), s = suffix.getBytes(StandardCharsets.UTF_8);
        if (s.length > 255) throw new IllegalArgumentException("extension longer than 255 bytes: " + suffix);
        if ((long) used + k.length + s.length > Integer.MAX_VALUE - 16)
            throw new IllegalStateException("more than 2 GiB of sample paths");
        if (size == Integer.MAX_VALUE - 16) throw new IllegalStateException("too many samples");
        if (size == ends.length) {
            int n = (int) Math.min(Integer.MAX_VALUE - 16L, ends.length * 2L);
            ends = Arrays.copyOf(ends, n);
            suffixLengths = Arrays.copyOf(suffixLengths, n);
        }
        int need = used + k.length + s.length;
        if (need > bytes.length) bytes = Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 16L, Math.max(need, bytes.length * 2L)));
        System.arraycopy(k, 0, bytes, used, k.length);
        System.arraycopy(s, 0, bytes, used + k.length, s.length);
        used = need;
        ends[size] = used;
        suffixLengths[size] = (byte) s.length;
        size++;
    }

    /** Appends all paths of {@code other}. */
    void addAll(PathTable other) {
        if ((long) used + other.used > Integer.MAX_VALUE - 16) throw new IllegalStateException("more than 2 GiB of sample paths");
        if ((long) size + other.size > Integer.MAX_VALUE - 16) throw new IllegalStateException("too many samples");
        if (size + other.size > ends.length) {
            int n = (int) Math.min(Integer.MAX_VALUE - 16L, Math.max(size + other.size, ends.length * 2L));
            ends = Arrays.copyOf(ends, n);
            suffixLengths = Arrays.copyOf(suffixLengths, n);
        }
        if (used + other.used > bytes.length)
            bytes = Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 16L, Math.max(used + other.used, bytes.length * 2L)));
        System.arraycopy(other.bytes, 0, bytes, used, other.used);
        for (int i = 0; i < other.size; i++) ends[size + i] = used + other.ends[i];
        System.arraycopy(other.suffixLengths, 0, suffixLengths, size, other.size);
        used += other.used;
        size += other.size;
    }

    /** Drops the spare capacity of the growth arrays. */
    PathTable trim() {
        bytes = Arrays.copyOf(bytes, used);
        ends = Arrays.copyOf(ends, size);
        suffixLengths = Arrays.copyOf(suffixLengths, size);
        return this;
    }

    private int start(int i) {
        return i == 0 ? 0 : ends[i - 1];
    }

    private int keyEnd(int i) {
        return ends[i] - (suffixLengths[i] & 0xFF);
    }

    /** The key: the path without its suffix. */
    String key(int i) {
        Objects.checkIndex(i, size);
        return new String(bytes, start(i), keyEnd(i) - start(i), StandardCharsets.UTF_8);
    }

    /** The whole relative path (key + suffix). */
    String path(int i) {
        Objects.checkIndex(i, size);
        return new String(bytes, start(i), ends[i] - start(i), StandardCharsets.UTF_8);
    }

    String suffix(int i) {
        Objects.checkIndex(i, size);
        return new String(bytes, keyEnd(i), ends[i] - keyEnd(i), StandardCharsets.UTF_8);
    }

    /** Heap bytes of the table's arrays (after {@link #trim}: the paths plus 5 bytes a sample). */
    long heapBytes() {
        return bytes.length + 4L * ends.length + suffixLengths.length;
    }

    private boolean sameKey(int i, int j) {
        return Arrays.equals(bytes, start(i), keyEnd(i), bytes, start(j), keyEnd(j));
    }

    /**
     * Two samples with the same key ({@code {i, j}}, i < j, the first such pair by j), or null. Sorts 64-bit key
     * hashes (8 bytes per sample, transient) and compares the bytes of equal hashes.
     */
    int[] findDuplicateKey() {
        if (size < 2) return null;
        int bits = 32 - Integer.numberOfLeadingZeros(size - 1);
        long indexMask = (1L << bits) - 1;
        long[] packed = new long[size];
        for (int i = 0; i < size; i++) packed[i] = (hash(i) & ~indexMask) | i;
        Arrays.sort(packed);
        int[] best = null;
        for (int a = 0; a < size; ) {
            int b = a + 1;
            while (b < size && (packed[b] & ~indexMask) == (packed[a] & ~indexMask)) b++;
            for (int x = a; x < b; x++) {
                for (int y = x + 1; y < b; y++) {
                    int i = (int) (packed[x] & indexMask), j = (int) (packed[y] & indexMask);
                    if (sameKey(i, j)) {
                        int lo = Math.min(i, j), hi = Math.max(i, j);
                        if (best == null || hi < best[1] || (hi == best[1] && lo < best[0])) best = new int[] {lo, hi};
                    }
                }
            }
            a = b;
        }
        return best;
    }

    private long hash(int i) {
        long h = 0xcbf29ce484222325L;  // FNV-1a, then a murmur3 finalizer for the high bits
        for (int p = start(i), e = keyEnd(i); p < e; p++) {
            h ^= bytes[p] & 0xFF;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
