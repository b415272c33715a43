package org.relabel4j.store;

import java.nio.charset.StandardCharsets;

/**
 * The key index of a store (docs/store-format.md): key end offsets in record order, record numbers sorted by key,
 * and the UTF-8 key bytes. Lookups binary-search the sorted numbers, comparing bytes in place: no per-record
 * objects. All offsets are {@code long} ({@link MappedRegion}): an index region past 2 GiB reads like a small one.
 * Building the index is {@link KeySorter}'s job (the writer, out of core).
 */
final class KeyIndex {
    private final MappedRegion index;
    private final long count;
    private final long sortedAt, blobAt;

    private KeyIndex(MappedRegion index, long count) {
        this.index = index;
        this.count = count;
        this.sortedAt = 8 + 8 * count;
        this.blobAt = sortedAt + 4 * count;
    }

    /** A view over an encoded index region; checks its internal consistency (one pass over the arrays). */
    static KeyIndex of(java.nio.file.Path file, MappedRegion b, long expectedCount) throws StoreException {
        if (b.length() < 8) throw new StoreException(file, "key index truncated");
        long count = b.getLong(0);
        if (count != expectedCount)
            throw new StoreException(file, "key index holds " + count + " keys for " + expectedCount + " records");
        if (count < 0 || count > StoreLimits.MAX_RECORDS)
            throw new StoreException(file, "key index holds " + count + " keys, above the format's limit");
        long fixed = 8 + 12 * count;
        if (fixed > b.length()) throw new StoreException(file, "key index truncated: " + count + " keys need " + fixed + " bytes");
        KeyIndex k = new KeyIndex(b, count);
        long blobSize = b.length() - k.blobAt, previous = 0;
        for (long i = 0; i < count; ++i) {
            long end = b.getLong(8 + 8 * i);
            if (end <= previous || end > blobSize)
                throw new StoreException(file, "key index corrupt at record " + i + " (key end " + end + ")");
            previous = end;
            long r = b.getInt(k.sortedAt + 4 * i) & 0xffffffffL;
            if (r >= count) throw new StoreException(file, "key index corrupt: sorted entry " + i + " = " + r);
        }
        return k;
    }

    long count() {
        return count;
    }

    private long start(long record) {
        return record == 0 ? 0 : index.getLong(8 + 8 * (record - 1));
    }

    private long end(long record) {
        return index.getLong(8 + 8 * record);
    }

    String key(long record) {
        long start = start(record), end = end(record);
        if (end - start > Integer.MAX_VALUE - 8)
            throw new IllegalStateException("key of record " + record + " is " + (end - start) + " bytes long");
        byte[] k = new byte[(int) (end - start)];
        index.get(blobAt + start, k, 0, k.length);
        return new String(k, StandardCharsets.UTF_8);
    }

    /** The record whose key is {@code key}, or -1. */
    long find(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        long lo = 0, hi = count - 1;
        while (lo <= hi) {
            long mid = (lo + hi) >>> 1;
            long r = index.getInt(sortedAt + 4 * mid) & 0xffffffffL;
            long start = start(r);
            int c = index.compare(blobAt + start, end(r) - start, k);
            if (c == 0) return r;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }
}
