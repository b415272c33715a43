package org.relabel4j.store;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Orders record numbers by their keys' bytes (unsigned, shorter prefix first) out of core, for the key index's
 * {@code sorted} array: keys are collected into an arena of at most {@code budget} bytes (key bytes + 18 bytes per
 * key, with the sort's arrays), each full arena is sorted and spilled to a run file next to the store ({@code <out>.partial.sort-<i>}), and
 * {@link #finish} merges the runs (at most {@code fanIn} at a time; more runs are merged in passes), checking that no
 * key repeats. Memory: {@code budget + fanIn * 64 KiB}, independent of the number of keys. A store whose keys fit
 * the budget is sorted in memory without files.
 */
final class KeySorter implements Closeable {
    /** Default arena: 64 MiB (about 1.9 M keys of 25 bytes per run). */
    static final long DEFAULT_BUDGET = 64L << 20;
    static final int DEFAULT_FAN_IN = 128;
    private static final int RUN_BUFFER = 64 * 1024;
    private static final int PER_KEY = 6;  // u32 record + u16 length before each key in the arena
    private static final int PER_ENTRY_SORT = 12;  // the offsets, order and merge-sort scratch arrays: an int each

    /** Receives the record numbers in key order. */
    interface Sink {
        void accept(long record) throws IOException;
    }

    private final Path runPrefix;
    private final Path storeForErrors;
    private final long budget;
    private final int fanIn;
    private byte[] arena = new byte[4096];
    private int used;
    private int[] offsets = new int[256];
    private int entries;
    private final List<Path> runs = new ArrayList<>();
    private final List<Path> created = new ArrayList<>();  // every run file, deleted by close()
    private int runsCreated;

    /**
     * @param runPrefix run files are {@code runPrefix + "-" + i}
     * @param budget arena bytes (at least one key of the largest size fits)
     */
    KeySorter(Path runPrefix, Path storeForErrors, long budget, int fanIn) {
        if (budget < 2 * (LabelMapStoreWriter.MAX_KEY_BYTES + PER_KEY + PER_ENTRY_SORT))
            budget = 2 * (LabelMapStoreWriter.MAX_KEY_BYTES + PER_KEY + PER_ENTRY_SORT);
        if (fanIn < 2) throw new IllegalArgumentException("fanIn " + fanIn);
        this.runPrefix = runPrefix;
        this.storeForErrors = storeForErrors;
        this.budget = Math.min(budget, Integer.MAX_VALUE - 64);
        this.fanIn = fanIn;
    }

    /** Run files written so far (the spill path was taken when this is above 0). */
    int runsWritten() {
        return runsCreated;
    }

    void add(long record, byte[] key, int keyLength) throws IOException {
        int entry = 6 + keyLength;
        if ((long) used + entry + (long) (entries + 1) * PER_ENTRY_SORT > budget) spill();
        if (used + entry > arena.length) arena = Arrays.copyOf(arena, (int) Math.min(budget, Math.max(arena.length * 2L, used + entry)));
        if (entries == offsets.length) offsets = Arrays.copyOf(offsets, entries * 2);
        offsets[entries++] = used;
        putInt(arena, used, (int) record);
        arena[used + 4] = (byte) keyLength;
        arena[used + 5] = (byte) (keyLength >>> 8);
        System.arraycopy(key, 0, arena, used + 6, keyLength);
        used += entry;
    }

    private void spill() throws IOException {
        if (entries == 0) return;
        int[] order = sortArena();
        Path run = Path.of(runPrefix + "-" + runsCreated++);
        created.add(run);
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(run), RUN_BUFFER))) {
            runs.add(run);
            for (int i = 0; i < entries; ++i) {
                int at = order[i], len = len(arena, at);
                out.writeInt(getInt(arena, at));
                out.writeShort(len);
                out.write(arena, at + 6, len);
            }
        }
        used = 0;
        entries = 0;
    }

    private int[] sortArena() {
        int[] order = Arrays.copyOf(offsets, entries), tmp = new int[entries];
        mergeSort(order, tmp, 0, entries);
        return order;
    }

    /** Emits every record number in key order to {@code sink}; a StoreException on the first repeated key. */
    void finish(Sink sink) throws IOException {
        if (runs.isEmpty()) {
            int[] order = sortArena();
            for (int i = 0; i < entries; ++i) {
                if (i > 0 && compareEntries(order[i - 1], order[i]) == 0)
                    throw duplicate(keyAt(order[i]), getInt(arena, order[i - 1]) & 0xffffffffL,
                            getInt(arena, order[i]) & 0xffffffffL);
                sink.accept(getInt(arena, order[i]) & 0xffffffffL);
            }
            return;
        }
        spill();
        arena = new byte[0];  // the merge needs only its buffers
        offsets = new int[0];
        while (runs.size() > fanIn) {
            List<Path> group = new ArrayList<>(runs.subList(0, fanIn));
            runs.subList(0, fanIn).clear();
            Path merged = Path.of(runPrefix + "-" + runsCreated++);
            created.add(merged);
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(merged), RUN_BUFFER))) {
                runs.add(merged);
                merge(group, (record, key, len) -> {
                    out.writeInt((int) record);
                    out.writeShort(len);
                    out.write(key, 0, len);
                });
            }
            for (Path p : group) Files.deleteIfExists(p);
        }
        merge(new ArrayList<>(runs), (record, key, len) -> sink.accept(record));
    }

    private interface EntrySink {
        void accept(long record, byte[] key, int len) throws IOException;
    }

    private static final class Cursor implements Comparable<Cursor> {
        final DataInputStream in;
        final byte[] key = new byte[LabelMapStoreWriter.MAX_KEY_BYTES];
        int len;
        long record;

        Cursor(Path run) throws IOException {
            InputStream s = Files.newInputStream(run);
            in = new DataInputStream(new BufferedInputStream(s, RUN_BUFFER));
        }

        boolean next() throws IOException {
            int r;
            try {
                r = in.readInt();
            } catch (EOFException e) {
                return false;
            }
            record = r & 0xffffffffL;
            len = in.readUnsignedShort();
            in.readFully(key, 0, len);
            return true;
        }

        @Override
        public int compareTo(Cursor o) {
            int c = Arrays.compareUnsigned(key, 0, len, o.key, 0, o.len);
            return c != 0 ? c : Long.compare(record, o.record);
        }
    }

    private void merge(List<Path> group, EntrySink sink) throws IOException {
        PriorityQueue<Cursor> heap = new PriorityQueue<>();
        List<Cursor> open = new ArrayList<>();
        try {
            for (Path p : group) {
                Cursor c = new Cursor(p);
                open.add(c);
                if (c.next()) heap.add(c);
            }
            byte[] previous = new byte[LabelMapStoreWriter.MAX_KEY_BYTES];
            int previousLen = -1;
            long previousRecord = -1;
            while (!heap.isEmpty()) {
                Cursor c = heap.poll();
                if (previousLen == c.len && Arrays.equals(previous, 0, previousLen, c.key, 0, c.len))
                    throw duplicate(new String(c.key, 0, c.len, StandardCharsets.UTF_8), previousRecord, c.record);
                sink.accept(c.record, c.key, c.len);
                System.arraycopy(c.key, 0, previous, 0, c.len);
                previousLen = c.len;
                previousRecord = c.record;
                if (c.next()) heap.add(c);
            }
        } finally {
            for (Cursor c : open) c.in.close();
        }
    }

    private StoreException duplicate(String key, long a, long b) {
        return new DuplicateKeyException(storeForErrors, key, Math.min(a, b), Math.max(a, b));
    }

    /** Deletes the run files. */
    @Override
    public void close() throws IOException {
        for (Path p : created) Files.deleteIfExists(p);
        created.clear();
        runs.clear();
    }

    // ---- arena ----

    private String keyAt(int at) {
        return new String(arena, at + 6, len(arena, at), StandardCharsets.UTF_8);
    }

    private static int len(byte[] a, int at) {
        return (a[at + 4] & 0xff) | (a[at + 5] & 0xff) << 8;
    }

    private int compareEntries(int x, int y) {
        return Arrays.compareUnsigned(arena, x + 6, x + 6 + len(arena, x), arena, y + 6, y + 6 + len(arena, y));
    }

    /** Key order, ties (duplicates) by record number so that the error names the earlier record first. */
    private int compareWithRecord(int x, int y) {
        int c = compareEntries(x, y);
        return c != 0 ? c : Integer.compareUnsigned(getInt(arena, x), getInt(arena, y));
    }

    private void mergeSort(int[] a, int[] tmp, int from, int to) {
        if (to - from < 16) {
            for (int i = from + 1; i < to; ++i) {
                int v = a[i], j = i;
                while (j > from && compareWithRecord(a[j - 1], v) > 0) {
                    a[j] = a[j - 1];
                    --j;
                }
                a[j] = v;
            }
            return;
        }
        int mid = (from + to) >>> 1;
        mergeSort(a, tmp, from, mid);
        mergeSort(a, tmp, mid, to);
        if (compareWithRecord(a[mid - 1], a[mid]) <= 0) return;
        System.arraycopy(a, from, tmp, from, to - from);
        int i = from, j = mid, o = from;
        while (i < mid && j < to) a[o++] = compareWithRecord(tmp[i], tmp[j]) <= 0 ? tmp[i++] : tmp[j++];
        while (i < mid) a[o++] = tmp[i++];
        while (j < to) a[o++] = tmp[j++];
    }

    private static void putInt(byte[] a, int at, int v) {
        a[at] = (byte) v;
        a[at + 1] = (byte) (v >>> 8);
        a[at + 2] = (byte) (v >>> 16);
        a[at + 3] = (byte) (v >>> 24);
    }

    private static int getInt(byte[] a, int at) {
        return (a[at] & 0xff) | (a[at + 1] & 0xff) << 8 | (a[at + 2] & 0xff) << 16 | (a[at + 3] & 0xff) << 24;
    }
}
