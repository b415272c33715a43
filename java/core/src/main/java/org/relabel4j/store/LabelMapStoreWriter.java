package org.relabel4j.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32C;
import org.relabel4j.io.AtomicFiles;
import org.relabel4j.ops.MapFormat;

/**
 * Streams label maps into a new store (docs/store-format.md). Records go to {@code <out>.partial} and their keys
 * and checksums to {@code <out>.partial.journal}; {@link #finish()} writes the CRC array, key index, metadata and
 * final header, forces everything to disk and renames the file to {@code <out>} atomically. Until then nothing at
 * {@code <out>} changes, and a crash leaves a partial file that {@link #resume} continues after its last record
 * that verifies.
 *
 * <p>Concurrency: the writer holds an exclusive lock ({@code flock}) on {@code <out>.partial} while it writes, so a
 * second writer of the same output stops at once with a {@link StoreBusyException} saying so (and never resumes or
 * deletes a live writer's file); and it does not replace a store that a reader holds open ({@link LabelMapStore}
 * keeps a shared lock): {@link #create}/{@link #resume} check that before any work, {@link #finish} again while it
 * renames, holding the old store exclusively meanwhile. A store is never changed in place.
 *
 * <p>Memory is bounded independently of the record count: records go through a small buffer, keys and checksums
 * only to the journal, and {@link #finish()} streams the journal into the CRC array and key index, ordering the
 * keys out of core ({@code KeySorter}: an arena of 64 MiB by default, full arenas spilled to sorted run files next
 * to the output and merged 128 at a time). The writer's heap stays below about 120 MB for any count the format
 * allows (docs/store-format.md, "Limits"; bench/scale.sh measures it). Not thread-safe: one producer per writer
 * (use shards for parallel producers).
 */
public final class LabelMapStoreWriter implements Closeable {
    static final String PARTIAL = ".partial";
    static final String JOURNAL = ".partial.journal";
    private static final byte[] JOURNAL_MAGIC = "RLMJRNL1".getBytes(StandardCharsets.US_ASCII);
    static final int MAX_KEY_BYTES = 4096;
    static final String SORT_RUN = ".partial.sort";
    private static final int STREAM_BUFFER = 1 << 20;
    private static final int BUFFER_RECORDS = 256;

    private final Path out;
    private final Path partial;
    private final Path journalPath;
    private final MapFormat format;
    private final RecordCodec codec;
    private final String metadataJson;
    private final FileChannel data;
    private final FileChannel journal;
    private final StoreLock partialLock;
    private final ByteBuffer recordBuffer;
    private final ByteBuffer journalBuffer = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    private long count;
    private long keyBytes;
    private long journalEntriesAt;  // where the journal's entries start (after its header)
    private long sortBudget = KeySorter.DEFAULT_BUDGET;
    private int sortFanIn = KeySorter.DEFAULT_FAN_IN;
    private int sortRuns;
    private boolean finished;

    private LabelMapStoreWriter(Path out, MapFormat format, String metadataJson, FileChannel data, FileChannel journal,
            StoreLock partialLock, long count, long journalEntriesAt) {
        this.journalEntriesAt = journalEntriesAt;
        this.out = out;
        this.partial = sibling(out, PARTIAL);
        this.journalPath = sibling(out, JOURNAL);
        this.format = format;
        this.codec = new RecordCodec(format);
        this.metadataJson = metadataJson;
        this.data = data;
        this.journal = journal;
        this.partialLock = partialLock;
        this.count = count;
        this.recordBuffer = ByteBuffer.allocateDirect(codec.recordSize() * BUFFER_RECORDS).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Path sibling(Path out, String suffix) {
        return out.resolveSibling(out.getFileName() + suffix);
    }

    /**
     * Starts a new store at {@code out} (an existing {@code out} is replaced only by {@link #finish()}). Fails if an
     * unfinished {@code <out>.partial} exists (another writer's, or one a stopped run left: {@link #resume} it or
     * delete it), or when {@code out} is open in a reader.
     */
    public static LabelMapStoreWriter create(Path out, MapFormat format, Map<String, ?> metadata) throws IOException {
        return create(out, format, metadata, -1);
    }

    /**
     * {@link #create(Path, MapFormat, Map)} for a store of about {@code expectedRecords} records (-1: unknown),
     * checked against the format's limits and the free disk space before any work ({@link StoreLimits#check}): a
     * StoreException naming the limit and the value when it cannot be written.
     */
    public static LabelMapStoreWriter create(Path out, MapFormat format, Map<String, ?> metadata, long expectedRecords)
            throws IOException {
        if (expectedRecords >= 0) StoreLimits.check(out, format, expectedRecords, 32);
        Path partial = sibling(out, PARTIAL);
        StoreLock unfinished = lockUnfinished(out);
        if (unfinished != null) {
            unfinished.close();
            throw new StoreException(out, "an unfinished " + partial.getFileName() + " exists (a run that stopped "
                    + "before finishing left it): continue it (`relabel import --resume`; annotate continues it when run "
                    + "again) or delete it and its .journal");
        }
        checkReplaceable(out);
        return start(out, format, metadataJson(format, metadata));
    }

    /**
     * Continues the unfinished store at {@code out} after its last record whose journal entry and record checksum
     * verify, or starts a new one when there is none. The format must equal the unfinished one. Fails when another
     * writer is writing it now, or when {@code out} is open in a reader.
     */
    public static LabelMapStoreWriter resume(Path out, MapFormat format, Map<String, ?> metadata) throws IOException {
        return resume(out, format, metadata, -1);
    }

    /**
     * {@link #resume(Path, MapFormat, Map)} for a store of about {@code expectedRecords} records in all (-1:
     * unknown), checked first as by {@link #create(Path, MapFormat, Map, long)}.
     */
    public static LabelMapStoreWriter resume(Path out, MapFormat format, Map<String, ?> metadata, long expectedRecords)
            throws IOException {
        if (expectedRecords > StoreLimits.MAX_RECORDS) StoreLimits.check(out, format, expectedRecords, 32);
        Path journalPath = sibling(out, JOURNAL);
        StoreLock lock = lockUnfinished(out);
        try {
            checkReplaceable(out);
            if (lock == null || !Files.exists(journalPath)) {
                if (lock != null) Files.deleteIfExists(sibling(out, PARTIAL));  // ours: a start that stopped early
                Files.deleteIfExists(journalPath);
                if (lock != null) lock.close();
                lock = null;
                return start(out, format, metadataJson(format, metadata));
            }
            LabelMapStoreWriter w = Recovery.reopen(out, format, lock);
            lock = null;
            return w;
        } finally {
            if (lock != null) lock.close();
        }
    }

    /**
     * The exclusive lock on {@code <out>.partial}, or null when there is no such file; a StoreBusyException when a
     * live writer holds it.
     */
    private static StoreLock lockUnfinished(Path out) throws IOException {
        Path partial = sibling(out, PARTIAL);
        if (!Files.exists(partial)) return null;
        StoreLock lock;
        try {
            lock = StoreLock.tryLock(partial, true);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;  // its writer just finished
        }
        if (lock == null) throw anotherWriter(out);
        return lock;
    }

    private static StoreBusyException anotherWriter(Path out) {
        Path partial = sibling(out, PARTIAL);
        return new StoreBusyException(out, "another writer is producing it right now (a process holds the lock on "
                + partial.getFileName() + "): wait for it to finish or write to another output; should that writer "
                + "stop before finishing, its work continues with `relabel import --resume` (annotate: run the same "
                + "command again)");
    }

    /**
     * Fails with a StoreBusyException when an existing {@code out} is open in a reader (this process or another):
     * replacing it would leave that reader on the old maps while the path names new ones.
     */
    static void checkReplaceable(Path out) throws IOException {
        StoreLock lock = lockForReplace(out);
        if (lock != null) lock.close();
    }

    /** The exclusive lock on an existing {@code out}, or null when it does not exist. */
    private static StoreLock lockForReplace(Path out) throws IOException {
        if (!Files.exists(out)) return null;
        if (Files.isDirectory(out)) throw new StoreException(out, "is a directory: give a file name for the store");
        StoreLock lock;
        try {
            lock = StoreLock.tryLock(out, true);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
        if (lock == null)
            throw new StoreBusyException(out, "is open for reading (a training run, `relabel show` or another reader, in "
                    + "this or another process, holds it): a writer does not replace a store in use; wait for the "
                    + "readers to finish or write to another output");
        return lock;
    }

    /** Whether an unfinished store ({@code <out>.partial}) exists that {@link #resume} would continue. */
    public static boolean unfinished(Path out) {
        return Files.exists(sibling(out, PARTIAL));
    }

    /**
     * The metadata JSON an unfinished store at {@code out} was started with (from its journal), or null when there is
     * none; lets a caller check its settings before {@link #resume}. A StoreBusyException when a live writer holds
     * it (there is nothing to resume then).
     */
    public static String unfinishedMetadata(Path out) throws IOException {
        Path journalPath = sibling(out, JOURNAL);
        StoreLock lock = lockUnfinished(out);
        if (lock == null) return null;
        if (!Files.exists(journalPath)) {
            lock.close();
            return null;
        }
        try (lock; FileChannel journal = FileChannel.open(journalPath, StandardOpenOption.READ)) {
            return unfinishedMetadata(journalPath, journal);
        }
    }

    /** The metadata JSON from a journal's header (magic, length, JSON, CRC32C), checked. */
    private static String unfinishedMetadata(Path journalPath, FileChannel journal) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        while (head.hasRemaining() && journal.read(head, head.position()) > 0) {
            // fill the header
        }
        head.flip();
        byte[] magic = new byte[8];
        if (head.remaining() < 12) throw new StoreException(journalPath, "journal too short to resume from");
        head.get(magic);
        if (!Arrays.equals(magic, JOURNAL_MAGIC)) throw new StoreException(journalPath, "not a store journal");
        int length = head.getInt();
        if (length < 0 || length > journal.size() - 16) throw new StoreException(journalPath, "journal header truncated");
        ByteBuffer body = ByteBuffer.allocate(length + 4).order(ByteOrder.LITTLE_ENDIAN);
        while (body.hasRemaining() && journal.read(body, 12 + body.position()) > 0) {
            // fill the metadata and its checksum
        }
        body.flip();
        byte[] json = new byte[length];
        body.get(json);
        if (body.getInt() != crc(json, 0, length)) throw new StoreException(journalPath, "journal header checksum mismatch");
        return new String(json, StandardCharsets.UTF_8);
    }

    /**
     * Reads journal entries ({@code u32 crc, u32 key length, key, u32 CRC32C of the three}) in order through a 1 MiB
     * buffer; {@link #next} stops at the end or at the first entry that does not verify.
     */
    static final class JournalReader {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(STREAM_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        private long filePos;
        private long position;
        int crc;
        int keyLength;
        final byte[] key = new byte[MAX_KEY_BYTES];

        JournalReader(FileChannel ch, long from) {
            this.ch = ch;
            this.filePos = from;
            this.position = from;
            buf.limit(0);
        }

        /** The journal offset after the last entry {@link #next} returned. */
        long position() {
            return position;
        }

        boolean next() throws IOException {
            if (!ensure(8)) return false;
            int start = buf.position();
            crc = buf.getInt(start);
            keyLength = buf.getInt(start + 4);
            if (keyLength <= 0 || keyLength > MAX_KEY_BYTES) return false;
            if (!ensure(12 + keyLength)) return false;
            start = buf.position();
            if (buf.getInt(start + 8 + keyLength) != crc(buf.array(), start, 8 + keyLength)) return false;
            buf.get(start + 8, key, 0, keyLength);
            buf.position(start + 12 + keyLength);
            position += 12 + keyLength;
            return true;
        }

        private boolean ensure(int n) throws IOException {
            if (buf.remaining() >= n) return true;
            buf.compact();
            while (buf.position() < n) {
                int r = ch.read(buf, filePos);
                if (r <= 0) break;
                filePos += r;
            }
            buf.flip();
            return buf.remaining() >= n;
        }
    }

    /**
     * Deletes an unfinished store's files ({@code <out>.partial} and its journal), if any; {@code out} is kept. A
     * StoreBusyException, deleting nothing, when a live writer holds them.
     */
    public static void discard(Path out) throws IOException {
        StoreLock lock = lockUnfinished(out);
        try {
            Files.deleteIfExists(sibling(out, PARTIAL));
            Files.deleteIfExists(sibling(out, JOURNAL));
        } finally {
            if (lock != null) lock.close();
        }
    }

    private static LabelMapStoreWriter start(Path out, MapFormat format, String metadataJson) throws IOException {
        Path partial = sibling(out, PARTIAL), journalPath = sibling(out, JOURNAL);
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null) AtomicFiles.createDirectories(out, dir);
        StoreLock lock;
        try {
            lock = StoreLock.create(partial);  // created and locked at once: a second writer sees it busy
        } catch (StoreException e) {
            throw new StoreException(out, "cannot write: " + e.getMessage(), e);
        }
        if (lock == null) throw anotherWriter(out);
        FileChannel data, journal;
        try {
            data = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            lock.close();
            throw e;
        }
        try {
            journal = FileChannel.open(journalPath, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE, StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            data.close();
            Files.deleteIfExists(partial);
            lock.close();
            throw e;
        }
        try {
            StoreHeader h = new StoreHeader(format, 0, format.layout().recordSize(), StoreHeader.SIZE, 0, 0, 0, 0, 0,
                    0, 0, 0, false);
            writeFully(data, h.encode(), 0);
            byte[] json = metadataJson.getBytes(StandardCharsets.UTF_8);
            ByteBuffer jh = ByteBuffer.allocate(16 + json.length).order(ByteOrder.LITTLE_ENDIAN);
            jh.put(JOURNAL_MAGIC).putInt(json.length).put(json).putInt(crc(json, 0, json.length)).flip();
            writeFully(journal, jh, 0);
            journal.position(jh.limit());
            data.force(false);
            journal.force(false);
        } catch (IOException | RuntimeException e) {
            data.close();
            journal.close();
            Files.deleteIfExists(partial);
            Files.deleteIfExists(journalPath);
            lock.close();
            throw e;
        }
        data.position(StoreHeader.SIZE);
        int journalHeader = 16 + metadataJson.getBytes(StandardCharsets.UTF_8).length;
        return new LabelMapStoreWriter(out, format, metadataJson, data, journal, lock, 0, journalHeader);
    }

    static String metadataJson(MapFormat format, Map<String, ?> metadata) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("created", Instant.now().toString());
        String v = LabelMapStoreWriter.class.getPackage().getImplementationVersion();
        root.put("tool", "relabel4j " + (v != null ? v : "0.1.0-SNAPSHOT"));
        ObjectNode f = root.putObject("format");
        f.put("classes", format.classes()).put("k", format.k()).put("height", format.height())
                .put("width", format.width()).put("score_dtype", format.scoreType().label())
                .put("index_dtype", format.indexType().label());
        if (metadata != null) metadata.forEach((key, value) -> root.set(key, m.valueToTree(value)));
        try {
            return m.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalArgumentException("metadata is not serializable as JSON: " + e.getMessage(), e);
        }
    }

    /** The store this writer makes ({@code <out>}; written there by {@link #finish()}). */
    public Path output() {
        return out;
    }

    /** The format of the maps being written. */
    public MapFormat format() {
        return format;
    }

    /** Records written so far (including those recovered by {@link #resume}). */
    public long count() {
        return count;
    }

    /** The metadata JSON the finished store will carry. */
    public String metadataJson() {
        return metadataJson;
    }

    /**
     * Sets the key sort's memory (arena bytes, at least two keys of the largest size) and how many run files it
     * merges at once; for tests of the spill path and for memory-starved producers. Call before {@link #finish}.
     */
    void sortBudget(long bytes, int fanIn) {
        this.sortBudget = bytes;
        this.sortFanIn = fanIn;
    }

    /**
     * Calls {@code action} with the key of every record written so far, in record order, read back from the journal
     * (the writer keeps no keys in memory): how a resumed producer learns what is done.
     */
    public void forEachKey(java.util.function.Consumer<String> action) throws IOException {
        checkOpen();
        flushJournal();
        JournalReader j = new JournalReader(journal, journalEntriesAt);
        for (long i = 0; i < count; ++i) {
            if (!j.next())
                throw new StoreException(journalPath, "journal entry " + i + " of " + count + " is missing or corrupt");
            action.accept(new String(j.key, 0, j.keyLength, StandardCharsets.UTF_8));
        }
    }

    /** Run files the last {@link #finish} spilled its keys to (0 when they were sorted in memory). */
    int sortRuns() {
        return sortRuns;
    }

    /**
     * Appends one map: scores and class ids {@code [k,H,W]} flat (cells may be in any order of scores: they are
     * sorted descending). Bad maps are an IllegalArgumentException naming the key and the entry.
     */
    public void append(String key, float[] scores, int[] ids) throws IOException {
        checkOpen();
        byte[] k = checkKey(key);
        if (recordBuffer.remaining() < codec.recordSize()) flushRecords();
        int start = recordBuffer.position();
        codec.encode(key, scores, ids, recordBuffer);
        addRecord(k, recordCrc(recordBuffer, start));
    }

    /** Appends one record already in this format's layout (from another store: merge, resharding). */
    public void appendRecord(String key, ByteBuffer record) throws IOException {
        checkOpen();
        byte[] k = checkKey(key);
        if (record.remaining() < codec.recordSize())
            throw new IllegalArgumentException(key + ": record of " + record.remaining() + " bytes, expected "
                    + codec.recordSize());
        if (recordBuffer.remaining() < codec.recordSize()) flushRecords();
        int start = recordBuffer.position();
        recordBuffer.put(record.slice(record.position(), codec.recordSize()));
        addRecord(k, recordCrc(recordBuffer, start));
    }

    private int recordCrc(ByteBuffer buf, int start) {
        CRC32C crc = new CRC32C();
        crc.update(buf.slice(start, codec.recordSize()));
        return (int) crc.getValue();
    }

    private byte[] checkKey(String key) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("key must not be empty");
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        if (k.length > MAX_KEY_BYTES)
            throw new IllegalArgumentException("key of " + k.length + " bytes exceeds " + MAX_KEY_BYTES + ": " + key.substring(0, 80) + "...");
        return k;
    }

    private void addRecord(byte[] key, int crc) throws IOException {
        if (count >= StoreLimits.MAX_RECORDS)
            throw new StoreException(out, "cannot append record " + (count + 1) + ": the store format holds at most "
                    + StoreLimits.MAX_RECORDS + " records; write one store per group of shards (docs/scale.md)");
        remember(key.length);
        if (journalBuffer.remaining() < key.length + 12) flushJournal();
        int start = journalBuffer.position();
        journalBuffer.putInt(crc).putInt(key.length).put(key);
        journalBuffer.putInt(crc(journalBuffer.array(), start, journalBuffer.position() - start));
    }

    /** Counts a record whose key and checksum are in the journal (read back at finish). */
    private void remember(int keyLength) {
        keyBytes += keyLength;
        ++count;
    }

    /** Writes buffered records and journal entries to the files (not forced to disk). */
    public void flush() throws IOException {
        checkOpen();
        flushRecords();
        flushJournal();
    }

    private void flushRecords() throws IOException {
        recordBuffer.flip();
        while (recordBuffer.hasRemaining()) data.write(recordBuffer);
        recordBuffer.clear();
    }

    private void flushJournal() throws IOException {
        // Records first: a journal entry must never describe a record that is not in the data file yet.
        flushRecords();
        journalBuffer.flip();
        while (journalBuffer.hasRemaining()) journal.write(journalBuffer);
        journalBuffer.clear();
    }

    /**
     * Completes the store: checks that keys are unique, writes the CRC array, key index, metadata and header,
     * forces the file to disk and renames it to the output atomically. Returns the output path.
     */
    public Path finish() throws IOException {
        checkOpen();
        flushJournal();
        StoreLock replaced = lockForReplace(out);  // held until the rename: no reader opens the old store meanwhile
        try {
            return finishLocked();
        } finally {
            if (replaced != null) replaced.close();
        }
    }

    /**
     * Streams the journal (keys and checksums in record order) into the CRC array, the key ends and the key blob,
     * feeding the keys to an out-of-core sort for the {@code sorted} array; then the index checksum is computed by
     * reading the region back. On an error (a duplicate key, a corrupt journal) the file is cut back to its records,
     * so that the writer stays resumable.
     */
    private Path finishLocked() throws IOException {
        long n = count;
        long recordSize = codec.recordSize();
        long recordsEnd = StoreHeader.SIZE + n * recordSize;
        long crcOffset = align64(recordsEnd);
        long indexOffset = align64(crcOffset + 4L * n);
        long indexSize = 8 + 12L * n + keyBytes;
        long sortedAt = indexOffset + 8 + 8L * n, blobAt = sortedAt + 4L * n;
        byte[] meta = metadataJson.getBytes(StandardCharsets.UTF_8);
        long metaOffset = align64(indexOffset + indexSize);
        int crcOfCrcs, indexCrc;
        try (KeySorter sorter = new KeySorter(sibling(out, SORT_RUN), out, sortBudget, sortFanIn)) {
            CRC32C crcs = new CRC32C();
            try (RegionWriter crcOut = new RegionWriter(data, crcOffset);
                    RegionWriter endsOut = new RegionWriter(data, indexOffset);
                    RegionWriter blobOut = new RegionWriter(data, blobAt)) {
                endsOut.putLong(n);
                JournalReader j = new JournalReader(journal, journalEntriesAt);
                long end = 0;
                ByteBuffer four = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < n; ++i) {
                    if (!j.next())
                        throw new StoreException(journalPath, "journal entry " + i + " of " + n + " is missing or corrupt "
                                + "(at byte " + j.position() + "): the journal changed under the writer");
                    crcOut.putInt(j.crc);
                    crcs.update(four.putInt(0, j.crc).array(), 0, 4);
                    end += j.keyLength;
                    endsOut.putLong(end);
                    blobOut.put(j.key, j.keyLength);
                    sorter.add(i, j.key, j.keyLength);
                }
                if (end != keyBytes)
                    throw new StoreException(journalPath, "journal keys total " + end + " bytes, the writer counted " + keyBytes);
            }
            crcOfCrcs = (int) crcs.getValue();
            try (RegionWriter sortedOut = new RegionWriter(data, sortedAt)) {
                sorter.finish(record -> sortedOut.putInt((int) record));
            }
            sortRuns = sorter.runsWritten();
            writeFully(data, ByteBuffer.wrap(meta), metaOffset);
            data.truncate(metaOffset + meta.length);
            indexCrc = crcOf(data, indexOffset, indexSize);
        } catch (IOException | RuntimeException e) {
            data.truncate(recordsEnd);  // back to the records: close() and resume work as before finish
            throw e;
        }
        StoreHeader h = new StoreHeader(format, count, recordSize, StoreHeader.SIZE, crcOffset, indexOffset,
                indexSize, metaOffset, meta.length, crcOfCrcs, indexCrc, crc(meta, 0, meta.length), true);
        writeFully(data, h.encode(), 0);
        data.force(true);
        data.close();
        journal.close();
        Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(journalPath);
        partialLock.close();
        finished = true;
        return out;
    }

    /** Stops writing without finishing: buffered records are written so that {@link #resume} can continue. */
    @Override
    public void close() throws IOException {
        if (finished || !data.isOpen()) return;
        try {
            flushJournal();
            data.force(false);
            journal.force(false);
        } finally {
            data.close();
            journal.close();
            partialLock.close();
        }
    }

    /** Stops and deletes the unfinished files. */
    public void abort() throws IOException {
        if (data.isOpen()) data.close();
        if (journal.isOpen()) journal.close();
        try {
            Files.deleteIfExists(partial);
            Files.deleteIfExists(journalPath);
        } finally {
            partialLock.close();  // after deleting: no other writer takes the file meanwhile
        }
        finished = true;
    }

    private void checkOpen() throws IOException {
        if (finished || !data.isOpen()) throw new StoreException(out, "the writer is closed");
    }

    static long align64(long v) {
        return (v + 63) / 64 * 64;
    }

    static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    /** The CRC32C of {@code [offset, offset + length)} of a file, read through a 1 MiB buffer. */
    static int crcOf(FileChannel ch, long offset, long length) throws IOException {
        CRC32C c = new CRC32C();
        ByteBuffer b = ByteBuffer.allocateDirect(STREAM_BUFFER);
        long at = offset, end = offset + length;
        while (at < end) {
            b.clear().limit((int) Math.min(b.capacity(), end - at));
            int r = ch.read(b, at);
            if (r <= 0) throw new IOException("unexpected end of file at byte " + at);
            at += r;
            c.update(b.flip());
        }
        return (int) c.getValue();
    }

    /** Sequential little-endian writes at a file position through a 1 MiB buffer (positional: shares the channel). */
    static final class RegionWriter implements Closeable {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(STREAM_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        private long at;

        RegionWriter(FileChannel ch, long at) {
            this.ch = ch;
            this.at = at;
        }

        void putLong(long v) throws IOException {
            if (buf.remaining() < 8) flush();
            buf.putLong(v);
        }

        void putInt(int v) throws IOException {
            if (buf.remaining() < 4) flush();
            buf.putInt(v);
        }

        void put(byte[] b, int len) throws IOException {
            if (buf.remaining() < len) flush();
            buf.put(b, 0, len);
        }

        private void flush() throws IOException {
            buf.flip();
            at += buf.remaining();
            writeFully(ch, buf, at - buf.remaining());
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long p = position;
        while (b.hasRemaining()) p += ch.write(b, p);
    }

    /** Reopens an unfinished store: replays the journal, verifying each entry and its record. */
    private static final class Recovery {
        /** Reopens with {@code lock} (the exclusive lock on the partial file), which the writer then owns. */
        static LabelMapStoreWriter reopen(Path out, MapFormat format, StoreLock lock) throws IOException {
            Path partial = sibling(out, PARTIAL), journalPath = sibling(out, JOURNAL);
            FileChannel data = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.READ);
            FileChannel journal;
            try {
                journal = FileChannel.open(journalPath, StandardOpenOption.WRITE, StandardOpenOption.READ);
            } catch (IOException | RuntimeException e) {
                data.close();
                throw e;
            }
            try {
                String metadataJson = unfinishedMetadata(journalPath, journal);
                int jsonLength = metadataJson.getBytes(StandardCharsets.UTF_8).length;
                ByteBuffer hb = ByteBuffer.allocate(StoreHeader.SIZE);
                data.read(hb, 0);
                hb.flip();
                StoreHeader partialHeader = StoreHeader.decode(partial, hb, data.size());
                if (!partialHeader.format().equals(format))
                    throw new StoreException(out, "cannot resume: the unfinished store holds " + partialHeader.format()
                            + ", asked for " + format);
                LabelMapStoreWriter w = new LabelMapStoreWriter(out, format, metadataJson, data, journal, lock, 0,
                        16 + jsonLength);
                long recordSize = w.codec.recordSize();
                ByteBuffer record = ByteBuffer.allocateDirect((int) recordSize);
                JournalReader j = new JournalReader(journal, 16 + jsonLength);
                long journalValid = j.position();
                long dataSize = data.size();
                while (j.next()) {  // streamed: the journal of a huge store is never held in memory
                    long at = StoreHeader.SIZE + w.count * recordSize;
                    if (at + recordSize > dataSize) break;
                    record.clear();
                    while (record.hasRemaining() && data.read(record, at + record.position()) > 0) {
                        // fill the record buffer
                    }
                    record.flip();
                    CRC32C c = new CRC32C();
                    c.update(record);
                    if ((int) c.getValue() != j.crc) break;
                    w.remember(j.keyLength);  // already journaled
                    journalValid = j.position();
                }
                data.truncate(StoreHeader.SIZE + w.count * recordSize);
                data.position(StoreHeader.SIZE + w.count * recordSize);
                journal.truncate(journalValid);
                journal.position(journalValid);
                return w;
            } catch (IOException | RuntimeException e) {
                data.close();
                journal.close();
                throw e;
            }
        }
    }
}
