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
 * <p>Memory: the keys (about 50 MB for ImageNet's 1.28 M) and 4 bytes per record stay on the heap until
 * {@link #finish()}; records are written through a small buffer. Not thread-safe: one producer per writer (use
 * shards for parallel producers).
 */
public final class LabelMapStoreWriter implements Closeable {
    static final String PARTIAL = ".partial";
    static final String JOURNAL = ".partial.journal";
    private static final byte[] JOURNAL_MAGIC = "RLMJRNL1".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_KEY_BYTES = 4096;
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
    private int[] crcs = new int[1024];
    private byte[] keyBlob = new byte[64 * 1024];
    private int keyBlobSize;
    private long[] keyEnds = new long[1024];
    private boolean finished;

    private LabelMapStoreWriter(Path out, MapFormat format, String metadataJson, FileChannel data, FileChannel journal,
            StoreLock partialLock, long count) {
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
        return new LabelMapStoreWriter(out, format, metadataJson, data, journal, lock, 0);
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

    /** The key of record {@code i} written so far. */
    public String key(long i) {
        int start = i == 0 ? 0 : (int) keyEnds[(int) i - 1];
        return new String(keyBlob, start, (int) keyEnds[(int) i] - start, StandardCharsets.UTF_8);
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
        remember(key, crc);
        if (journalBuffer.remaining() < key.length + 12) flushJournal();
        int start = journalBuffer.position();
        journalBuffer.putInt(crc).putInt(key.length).put(key);
        journalBuffer.putInt(crc(journalBuffer.array(), start, journalBuffer.position() - start));
    }

    /** Keeps a record's key and checksum for the index and CRC array. */
    private void remember(byte[] key, int crc) throws StoreException {
        if (count >= Integer.MAX_VALUE - 8) throw new StoreException(out, "more than 2^31 records");
        int n = (int) count;
        if (n == crcs.length) {
            crcs = Arrays.copyOf(crcs, n * 2);
            keyEnds = Arrays.copyOf(keyEnds, n * 2);
        }
        while (keyBlobSize + key.length > keyBlob.length) keyBlob = Arrays.copyOf(keyBlob, keyBlob.length * 2);
        System.arraycopy(key, 0, keyBlob, keyBlobSize, key.length);
        keyBlobSize += key.length;
        keyEnds[n] = keyBlobSize;
        crcs[n] = crc;
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
        int n = (int) count;
        StoreLock replaced = lockForReplace(out);  // held until the rename: no reader opens the old store meanwhile
        try {
            return finish(n);
        } finally {
            if (replaced != null) replaced.close();
        }
    }

    private Path finish(int n) throws IOException {
        int[] sorted = KeyIndex.sortedOrder(keyBlob, keyEnds, n);
        for (int i = 1; i < n; ++i) {
            if (KeyIndex.compare(keyBlob, keyEnds, sorted[i - 1], sorted[i]) == 0)
                throw new StoreException(out, "duplicate key '" + key(sorted[i]) + "' (records " + Math.min(sorted[i - 1], sorted[i])
                        + " and " + Math.max(sorted[i - 1], sorted[i]) + ")");
        }
        long recordSize = codec.recordSize();
        long crcOffset = align64(StoreHeader.SIZE + count * recordSize);
        ByteBuffer crcBytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; ++i) crcBytes.putInt(crcs[i]);
        ByteBuffer index = KeyIndex.encode(keyBlob, keyBlobSize, keyEnds, sorted, n);
        long indexOffset = align64(crcOffset + 4L * n);
        byte[] meta = metadataJson.getBytes(StandardCharsets.UTF_8);
        long metaOffset = align64(indexOffset + index.limit());
        writeFully(data, crcBytes.flip(), crcOffset);
        writeFully(data, index, indexOffset);
        writeFully(data, ByteBuffer.wrap(meta), metaOffset);
        data.truncate(metaOffset + meta.length);
        StoreHeader h = new StoreHeader(format, count, recordSize, StoreHeader.SIZE, crcOffset, indexOffset,
                index.limit(), metaOffset, meta.length, crc(crcBytes.array(), 0, 4 * n),
                crc(index.array(), 0, index.limit()), crc(meta, 0, meta.length), true);
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
                long jsize = journal.size();
                ByteBuffer j = ByteBuffer.allocate((int) Math.min(jsize, Integer.MAX_VALUE - 8)).order(ByteOrder.LITTLE_ENDIAN);
                while (j.hasRemaining() && journal.read(j, j.position()) > 0) {
                    // positional reads do not move the channel
                }
                j.flip();
                byte[] magic = new byte[8];
                if (j.remaining() < 16) throw new StoreException(journalPath, "journal too short to resume from");
                j.get(magic);
                if (!Arrays.equals(magic, JOURNAL_MAGIC)) throw new StoreException(journalPath, "not a store journal");
                int jsonLength = j.getInt();
                if (jsonLength < 0 || jsonLength > j.remaining() - 4)
                    throw new StoreException(journalPath, "journal header truncated");
                byte[] json = new byte[jsonLength];
                j.get(json);
                if (j.getInt() != crc(json, 0, jsonLength)) throw new StoreException(journalPath, "journal header checksum mismatch");
                String metadataJson = new String(json, StandardCharsets.UTF_8);
                ByteBuffer hb = ByteBuffer.allocate(StoreHeader.SIZE);
                data.read(hb, 0);
                hb.flip();
                StoreHeader partialHeader = StoreHeader.decode(partial, hb, data.size());
                if (!partialHeader.format().equals(format))
                    throw new StoreException(out, "cannot resume: the unfinished store holds " + partialHeader.format()
                            + ", asked for " + format);
                LabelMapStoreWriter w = new LabelMapStoreWriter(out, format, metadataJson, data, journal, lock, 0);
                long recordSize = w.codec.recordSize();
                ByteBuffer record = ByteBuffer.allocateDirect((int) recordSize);
                long journalValid = j.position();
                while (j.remaining() >= 12) {
                    int entryStart = j.position();
                    int crc = j.getInt(), keyLength = j.getInt();
                    if (keyLength <= 0 || keyLength > MAX_KEY_BYTES || j.remaining() < keyLength + 4) break;
                    byte[] key = new byte[keyLength];
                    j.get(key);
                    int entryCrc = j.getInt();
                    if (entryCrc != crc(j.array(), entryStart, 8 + keyLength)) break;
                    long at = StoreHeader.SIZE + w.count * recordSize;
                    if (at + recordSize > data.size()) break;
                    record.clear();
                    while (record.hasRemaining() && data.read(record, at + record.position()) > 0) {
                        // fill the record buffer
                    }
                    record.flip();
                    CRC32C c = new CRC32C();
                    c.update(record);
                    if ((int) c.getValue() != crc) break;
                    w.remember(key, crc);  // already journaled
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
