package org.relabel4j.store;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.MapRecords;

/**
 * A finished label-map store (docs/store-format.md), memory-mapped read-only. Record access is O(1), key lookup a
 * binary search over the key index, and {@link #records()} hands the records to the native LabelPooling in place
 * (no copy; files above 2 GB included). Opening checks the header, the region bounds and the checksums of the CRC
 * array, index and metadata; {@link #verify} checks every record, {@link #map} the record it decodes. Safe for
 * concurrent readers; a store being written is invisible until its writer renames it into place.
 *
 * <p>While open, the store holds a shared lock on its file that this library's writers respect (they refuse to
 * replace a store that is open; see {@link LabelMapStoreWriter}), and every read of records through this class
 * first checks that no other program truncated or rewrote the file in place ({@link #checkUnchanged()}: one
 * fstat), so that such a change ends the read with a {@link StoreChangedException} instead of a fault of the
 * process on a page the truncation cut off. docs/reliability.md lists what is checked where.
 *
 * <p>Ownership: whoever opens a store closes it, after everything reading it (loaders, gathers on other threads)
 * is done; closing unmaps the file. A closed store, and the {@link org.relabel4j.ops.MapRecords} it handed out,
 * throw an IllegalStateException naming the file from every method (but {@link #path()} and {@link #close()}).
 * {@link DeviceRecords} are owned and closed by the caller of {@link #uploadToCuda}.
 */
public final class LabelMapStore implements Closeable {
    private final Path path;
    private final StoreHeader header;
    private final RecordCodec codec;
    private final KeyIndex index;
    private final MappedRegion crcs;
    private final String metadataJson;
    private final StoreLock lock;
    private final long modified;
    private volatile Pointer base;  // null once closed
    private Pointer mapping;  // the mapping of a closed store while pins keep it (see pin())
    private int pins;
    private final long size;
    private Residency residency = Residency.MAPPED;
    private String residencyNote = "";
    private Pointer ram, ramAllocation;  // the RAM copy's allocation (records start recordsAt bytes in)
    private long recordsAt;
    private static final int ADVICE_RANDOM = 1, ADVICE_SEQUENTIAL = 2, ADVICE_WILLNEED = 3, ADVICE_DONTNEED = 4,
            ADVICE_HUGEPAGE = 5;
    private static final long HUGE_PAGE = 2L << 20, COPY_CHUNK = 64L << 20;

    /** How an open store holds its records. */
    public enum Residency {
        /**
         * Mapped from the file with {@code madvise(RANDOM)} on the records (the default): a fault that goes to disk
         * reads the page it touches, not a readahead window. (Pages already in the page cache are still mapped 64 KB
         * around each fault by the kernel's fault-around, whatever the hint: {@link #RAM} avoids file faults.)
         */
        MAPPED,
        /** Mapped with the kernel's readahead (faults read ahead around them): for sequential scans. */
        MAPPED_READAHEAD,
        /**
         * The records copied into anonymous memory at open, backed by transparent huge pages where the kernel
         * allows (more TLB reach, no page faults on the file); costs the records' size in RAM and the time to read
         * them once.
         */
        RAM,
        /**
         * Chosen at open: {@link #RAM} when the records take at most 1/8 of the memory available then
         * ({@code MemAvailable} of /proc/meminfo: room for eight loader processes per node, each with its copy, and
         * the page cache; 1/n when the environment's {@code LOCAL_WORLD_SIZE}, torchrun's count of the node's
         * processes, says n > 8), else {@link #MAPPED} (also when the available memory is unknown or the copy cannot be
         * allocated). {@link #residency()} returns the one chosen and {@link #residencyDescription()} says why. The
         * training default ({@code data.relabel.residency: auto}): random gathers from a mapped file cost page
         * faults and page walks that anonymous memory does not (bench/RESULTS.md, "Label-map stores at scale").
         */
        AUTO;

        /** Parses "mapped", "mapped-readahead", "ram" or "auto" (case-insensitive); an IllegalArgumentException names them. */
        public static Residency parse(String s) {
            return switch (s.strip().toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
                case "mapped" -> MAPPED;
                case "mapped-readahead" -> MAPPED_READAHEAD;
                case "ram" -> RAM;
                case "auto" -> AUTO;
                default -> throw new IllegalArgumentException("store residency '" + s + "': expected mapped, "
                        + "mapped-readahead, ram or auto");
            };
        }

        /** The name {@link #parse} reads: "mapped", "mapped-readahead", "ram" or "auto". */
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        /**
         * The residency {@link #AUTO} picks for {@code recordBytes} of records with {@code available} bytes free (< 0:
         * unknown) on a node where {@code copies} processes may each hold one (at least 8 assumed).
         */
        public static Residency auto(long recordBytes, long available, int copies) {
            return available >= 0 && recordBytes <= available / Math.max(8, copies) ? RAM : MAPPED;
        }
    }

    private LabelMapStore(Path path, StoreLock lock, long modified, Pointer base, long size, StoreHeader header,
            MappedRegion crcs, KeyIndex index, String metadataJson) {
        this.crcs = crcs;
        this.path = path;
        this.lock = lock;
        this.modified = modified;
        this.base = base;
        this.size = size;
        this.header = header;
        this.codec = new RecordCodec(header.format());
        this.index = index;
        this.metadataJson = metadataJson;
    }

    /**
     * Opens and checks a store; errors name the file and what is wrong with it. Waits (up to 10 s) while a writer
     * holds the file exclusively, which it does only while renaming a new store over it.
     */
    public static LabelMapStore open(Path path) throws IOException {
        return open(path, Residency.MAPPED);
    }

    /**
     * {@link #open(Path)} holding the records as {@code residency} says ({@link Residency}; {@link #residencyDescription}
     * tells what is in effect).
     */
    public static LabelMapStore open(Path path, Residency residency) throws IOException {
        if (Files.isDirectory(path)) throw new StoreException(path, "is a directory, not a label-map store");
        StoreLock lock = StoreLock.shared(path);
        Pointer base = new Pointer();
        long size;
        try (LongPointer sizeOut = new LongPointer(1)) {
            if (RelabelNative.relabel_file_map_fd(lock.fd(), base, sizeOut) != RelabelNative.OK) {
                String why = RelabelNative.lastError().replaceAll(" ?file descriptor \\d+", "");
                lock.close();
                throw new StoreException(path, why);
            }
            size = sizeOut.get();
        }
        long modified;
        try {
            long[] stat = lock.stat();
            if (stat[0] != size)
                throw new StoreChangedException(path, "changed size while being opened (" + size + " -> " + stat[0]
                        + " bytes): another program is writing it in place");
            modified = stat[1];
        } catch (IOException | RuntimeException e) {
            RelabelNative.relabel_file_unmap(base, size);
            lock.close();
            throw e;
        }
        try {
            ByteBuffer head = region(base, 0, Math.min(size, StoreHeader.SIZE));
            StoreHeader h = StoreHeader.decode(path, head, size);
            h.checkRegions(path, size);
            MappedRegion crcs = new MappedRegion(base, h.crcOffset(), 4 * h.count());
            checkCrc(path, "CRC array", crcs, h.crcOfCrcs());
            MappedRegion indexRegion = new MappedRegion(base, h.indexOffset(), h.indexSize());
            checkCrc(path, "key index", indexRegion, h.indexCrc());
            if (h.metaSize() > 64L << 20) throw new StoreException(path, "metadata of " + h.metaSize() + " bytes (at most 64 MiB)");
            MappedRegion meta = new MappedRegion(base, h.metaOffset(), h.metaSize());
            checkCrc(path, "metadata", meta, h.metaCrc());
            byte[] json = new byte[(int) meta.length()];
            meta.get(0, json, 0, json.length);
            KeyIndex index = KeyIndex.of(path, indexRegion, h.count());
            LabelMapStore store = new LabelMapStore(path, lock, modified, base, size, h, crcs, index,
                    new String(json, StandardCharsets.UTF_8));
            store.recordsAt = h.recordsOffset();
            store.hold(residency);
            return store;
        } catch (IOException | RuntimeException e) {
            RelabelNative.relabel_file_unmap(base, size);
            lock.close();
            throw e;
        }
    }

    /** A little-endian view of [offset, offset + length) of the mapping (at most 2 GiB). */
    private static ByteBuffer region(Pointer base, long offset, long length) {
        if (length > Integer.MAX_VALUE) throw new IllegalStateException("region above 2 GiB");
        if (length == 0) return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        // a pointer at base + offset: JavaCPP's buffers start at the pointer's address, not at its position
        return new BytePointer(base).getPointer(offset).limit(length).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void checkCrc(Path path, String what, MappedRegion region, int expected) throws StoreException {
        CRC32C crc = new CRC32C();
        region.update(crc);
        if ((int) crc.getValue() != expected)
            throw new StoreException(path, String.format("%s checksum mismatch (stored %08x, computed %08x): the file is "
                    + "corrupt", what, expected, (int) crc.getValue()));
    }

    /** The store's file (answers also after {@link #close()}). */
    public Path path() {
        return path;
    }

    /** The format of every map in the store. */
    public MapFormat format() {
        live();
        return header.format();
    }

    /** Number of records. */
    public long size() {
        live();
        return header.count();
    }

    /** Bytes per record ({@code format().layout().recordSize()}). */
    public long recordSize() {
        live();
        return header.recordSize();
    }

    /** Bytes of the whole file. */
    public long fileSize() {
        live();
        return size;
    }

    /** The metadata JSON object (teacher, command line, date, format, ...). */
    public String metadataJson() {
        live();
        return metadataJson;
    }

    /** The key of a record (its image path relative to the dataset root, without extension). */
    public String key(long record) {
        live();
        checkRecord(record);
        return index.key(record);
    }

    /** The record holding {@code key}, or -1. */
    public long find(String key) {
        live();
        return index.find(key);
    }

    /** The record holding {@code key}; an IllegalArgumentException naming the key and the store when absent. */
    public long require(String key) {
        long r = find(key);
        if (r < 0) throw new IllegalArgumentException(path + ": no label map for key '" + key + "'");
        return r;
    }

    /**
     * The decoded map of a record (scores as float, uint8 dequantized), after checking the record's CRC32C and its
     * class ids: a corrupt record is an UncheckedIOException over a {@link StoreException} naming the record, its key
     * and what is wrong.
     */
    public LabelMap map(long record) {
        live();
        checkRecord(record);
        checkUnchangedUnchecked();
        String key = index.key(record);
        ByteBuffer view = recordView(record);
        CRC32C crc = new CRC32C();
        crc.update(view.duplicate());
        if ((int) crc.getValue() != recordCrc(record))
            throw corrupt(record, key, "fails its checksum (stored " + String.format("%08x", recordCrc(record))
                    + ", computed " + String.format("%08x", (int) crc.getValue()) + ")");
        LabelMap map = codec.decode(key, view);
        String bad = codec.check(map);
        if (bad != null) throw corrupt(record, key, bad);
        return map;
    }

    private UncheckedIOException corrupt(long record, String key, String what) {
        return new UncheckedIOException(new StoreException(path, "record " + record + " ('" + key + "') is corrupt: "
                + what + "; `relabel inspect --verify " + path.getFileName() + "` checks every record"));
    }

    /**
     * Fails when another program truncated or rewrote the file since it was opened (its size or modification time
     * differ from the mapping's): the records would no longer be what was checked, and pages a truncation cut off
     * would fault the process. One fstat; every read of records calls it first ({@link #map}, {@link #gather},
     * gathers from {@link #records()}, {@link #verify}, merges).
     */
    public void checkUnchanged() throws StoreException {
        live();
        long[] now = lock.stat();
        if (now[0] < size)
            throw new StoreChangedException(path, "was truncated from " + size + " to " + now[0] + " bytes while "
                    + "open: another program cut it in place (label-map stores are replaced by writing a new file and "
                    + "renaming it, never changed in place); restore the store, then run again");
        if (now[0] != size || now[1] != modified)
            throw new StoreChangedException(path, "was modified in place while open (" + (now[0] != size
                    ? "size " + size + " -> " + now[0] + " bytes" : "its modification time changed") + "): another "
                    + "program wrote into it (label-map stores are replaced by writing a new file and renaming it, "
                    + "never changed in place); restore the store, then run again");
    }

    /** {@link #checkUnchanged()} for readers that cannot throw checked exceptions: UncheckedIOException. */
    public void checkUnchangedUnchecked() {
        live();
        try {
            checkUnchanged();
        } catch (StoreException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies the raw bytes of {@code records[i]} into row i of {@code dst} (uint8 [B, recordSize]). */
    public void gather(long[] records, NdArray dst) {
        live();
        if (dst.dtype() != DType.UINT8 || dst.rank() != 2 || dst.shape(0) != records.length
                || dst.shape(1) != header.recordSize())
            throw new IllegalArgumentException("dst: expected uint8[" + records.length + ", " + header.recordSize() + "], got " + dst);
        checkUnchangedUnchecked();
        Pointer target = new Pointer(dst.buffer());
        for (int i = 0; i < records.length; ++i) {
            checkRecord(records[i]);
            Pointer.memcpy(new Pointer(target).position(i * header.recordSize()),
                    new Pointer(recordsBase()).position(recordsAt + records[i] * header.recordSize()),
                    header.recordSize());
        }
    }

    /**
     * The records in place, for {@code LabelPooling.gather(store.records(), ...)}; valid while this store is open.
     * Each gather from them first runs {@link #checkUnchanged()} (an UncheckedIOException when the file changed).
     */
    public MapRecords records() {
        live();
        return MapRecords.of(header.format(), header.count(), new Pointer(recordsBase()).position(recordsAt), -1,
                this::checkUnchangedUnchecked, this::live);
    }

    /** The records copied to CUDA device memory once: the resident GPU path. Close the result to free it. */
    public DeviceRecords uploadToCuda(int device) {
        live();
        long bytes = header.count() * header.recordSize();
        checkUnchangedUnchecked();
        CudaBuffer buffer = CudaBuffer.allocate(device, Math.max(bytes, 1));
        try {
            if (bytes > 0)
                NativeStatus.check(RelabelNative.relabel_cuda_memcpy(buffer.pointer(),
                        new Pointer(recordsBase()).position(recordsAt), bytes, 1), "upload " + path + " to cuda:" + device);
            String what = "device records of " + path + " on cuda:" + device;
            return new DeviceRecords(buffer, MapRecords.of(header.format(), header.count(), buffer.pointer(), device,
                    null, () -> {
                        if (buffer.isClosed()) throw new IllegalStateException(what + " are closed");
                    }));
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
    }

    /**
     * Records resident in GPU memory; closing frees them (idempotent). After {@link #close()} its accessors and every
     * method of its {@link MapRecords} throw an IllegalStateException naming the device records.
     */
    public record DeviceRecords(CudaBuffer buffer, MapRecords records) implements AutoCloseable {
        /** The device memory; an IllegalStateException once closed. */
        @Override
        public CudaBuffer buffer() {
            buffer.pointer();
            return buffer;
        }

        /** The records, for {@code LabelPooling.gather}; an IllegalStateException once closed. */
        @Override
        public MapRecords records() {
            buffer.pointer();
            return records;
        }

        @Override
        public void close() {
            buffer.close();
        }
    }

    /** Result of {@link #verify}: records whose CRC32C does not match (at most 100 listed), out of {@code checked}. */
    public record Verification(long checked, long bad, List<Long> firstBad) {
        /** Whether every record matched its checksum. */
        public boolean ok() {
            return bad == 0;
        }
    }

    /** Checks every record's CRC32C; {@code progress} gets the number of records checked so far (may be null). */
    public Verification verify(LongConsumer progress) {
        live();
        if (ram == null)  // a sequential scan: readahead while it runs, the open's hint after
            RelabelNative.relabel_file_advise(base, header.recordsOffset(), header.count() * header.recordSize(),
                    ADVICE_SEQUENTIAL);
        try {
            return verifyRecords(progress);
        } finally {
            if (ram == null && base != null)
                RelabelNative.relabel_file_advise(base, header.recordsOffset(), header.count() * header.recordSize(),
                        residency == Residency.MAPPED ? ADVICE_RANDOM : 0);
        }
    }

    private Verification verifyRecords(LongConsumer progress) {
        long bad = 0;
        List<Long> first = new ArrayList<>();
        CRC32C crc = new CRC32C();
        for (long r = 0; r < header.count(); ++r) {
            if (r % 1024 == 0) checkUnchangedUnchecked();
            crc.reset();
            crc.update(recordView(r));
            if ((int) crc.getValue() != crcs.getInt(4 * r)) {
                ++bad;
                if (first.size() < 100) first.add(r);
            }
            if (progress != null && (r + 1) % 4096 == 0) progress.accept(r + 1);
        }
        if (progress != null) progress.accept(header.count());
        return new Verification(header.count(), bad, first);
    }

    /** The stored CRC32C of a record. */
    int recordCrc(long record) {
        live();
        return crcs.getInt(4 * record);
    }

    /** A view of one record's bytes in the mapping. */
    ByteBuffer recordView(long record) {
        return region(recordsBase(), recordsAt + record * header.recordSize(), header.recordSize());
    }

    private void checkRecord(long record) {
        if (record < 0 || record >= header.count())
            throw new IndexOutOfBoundsException(path + ": record " + record + " is outside [0, " + header.count() + ")");
    }

    private Pointer live() {
        Pointer b = base;
        if (b == null) throw new IllegalStateException("label-map store " + path + " is closed");
        return b;
    }

    /** The unpositioned pointer the records start {@code recordsAt} bytes after: the mapping, or the RAM copy. */
    private Pointer recordsBase() {
        live();
        return ram != null ? ram : base;
    }

    /** How the records are held ({@link #open(Path, Residency)}). */
    public Residency residency() {
        live();
        return residency;
    }

    /**
     * The residency in words, as `relabel inspect` and the loader log it: e.g. "mapped, madvise(RANDOM) on the
     * records (5.82 GB)" or "in RAM: 5.82 GB of anonymous memory, transparent huge pages advised (kernel: madvise)".
     */
    public String residencyDescription() {
        live();
        return residencyNote;
    }

    /**
     * Asks the kernel to read the pages of {@code records} (entries outside {@code [0, size())} are skipped) in the
     * background ({@code madvise(WILLNEED)}; one {@code process_madvise} system call per 1,024 records where the kernel
     * allows it, else one {@code madvise} per record): the loader calls it when it starts a batch, so the records'
     * pages load while the images decode. No-op for a store held in RAM.
     */
    public void prefetch(long[] records) {
        Pointer b = live();
        if (ram != null) return;
        long rs = header.recordSize();
        long[] offsets = new long[records.length];
        int n = 0;
        for (long r : records)
            if (r >= 0 && r < header.count()) offsets[n++] = header.recordsOffset() + r * rs;
        if (n == 0) return;
        try (LongPointer p = new LongPointer(n)) {
            p.put(offsets, 0, n);
            RelabelNative.relabel_file_advise_ranges(b, p, n, rs, ADVICE_WILLNEED);
        }
    }

    /** {@link Residency#AUTO}: RAM when the records fit 1/8 (1/n) of the available memory, else mapped; the note says why. */
    private void holdAuto() throws StoreException {
        long bytes = header.count() * header.recordSize(), available = memoryAvailable();
        int copies = Math.max(8, localProcesses());
        Residency pick = Residency.auto(bytes, available, copies);
        String why = available < 0 ? "auto: the available memory is unknown (no MemAvailable in /proc/meminfo)"
                : String.format("auto: records %.2f GB %s 1/%d of the %.2f GB available", bytes / 1e9,
                        pick == Residency.RAM ? "<=" : ">", copies, available / 1e9);
        if (pick == Residency.RAM) {
            if (holdInRam()) {
                residency = Residency.RAM;
                residencyNote = why + "; " + residencyNote;
                return;
            }
            why += "; allocating the copy failed";
        }
        hold(Residency.MAPPED);
        residencyNote = why + "; " + residencyNote;
    }

    /** LOCAL_WORLD_SIZE of the environment (torchrun's processes on this node), or 1 when unset or not a count. */
    static int localProcesses() {
        try {
            String v = System.getenv("LOCAL_WORLD_SIZE");
            return v == null ? 1 : Math.max(1, Integer.parseInt(v.strip()));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** MemAvailable of /proc/meminfo in bytes; -1 where there is none. */
    static long memoryAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo")))
                if (line.startsWith("MemAvailable:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Applies the residency after opening: the access hint, or the copy into anonymous memory. */
    private void hold(Residency how) throws StoreException {
        long bytes = header.count() * header.recordSize();
        String size = String.format("%.2f GB", bytes / 1e9);
        if (how != Residency.AUTO) residency = how;
        switch (how) {
            case AUTO -> holdAuto();
            case MAPPED -> {
                RelabelNative.relabel_file_advise(base, header.recordsOffset(), bytes, ADVICE_RANDOM);
                residencyNote = "mapped, madvise(RANDOM) on the records (" + size + "): no readahead from disk";
            }
            case MAPPED_READAHEAD -> residencyNote = "mapped, kernel readahead on the records (" + size + ")";
            case RAM -> {
                if (!holdInRam())
                    throw new StoreException(path, "cannot hold the records in RAM: allocating " + size + " failed; open "
                            + "it mapped instead");
            }
        }
    }

    /** Copies the records into anonymous memory (2 MiB aligned, huge pages advised); false when allocating fails. */
    private boolean holdInRam() throws StoreException {
        long bytes = header.count() * header.recordSize();
        String size = String.format("%.2f GB", bytes / 1e9);
        if (bytes == 0) {
            residencyNote = "in RAM: no records";
            return true;
        }
        Pointer raw = Pointer.malloc(bytes + HUGE_PAGE);
        if (raw == null || raw.isNull()) return false;
        long pad = (HUGE_PAGE - raw.address() % HUGE_PAGE) % HUGE_PAGE;
        String thp = transparentHugePages();
        RelabelNative.relabel_file_advise(raw, pad, bytes, ADVICE_HUGEPAGE);  // before the first touch
        RelabelNative.relabel_file_advise(base, header.recordsOffset(), bytes, ADVICE_SEQUENTIAL);
        try {
            checkUnchanged();
            for (long at = 0; at < bytes; at += COPY_CHUNK) {
                long n = Math.min(COPY_CHUNK, bytes - at);
                Pointer.memcpy(new Pointer(raw).position(pad + at), new Pointer(base).position(header.recordsOffset() + at),
                        n);
            }
            checkUnchanged();
        } catch (StoreException | RuntimeException e) {
            Pointer.free(raw);
            throw e;
        }
        // our mapped pages of the records are not needed any more (the page cache keeps them for others)
        RelabelNative.relabel_file_advise(base, header.recordsOffset(), bytes, ADVICE_DONTNEED);
        ramAllocation = raw;
        ram = raw;
        recordsAt = pad;
        residencyNote = "in RAM: " + size + " of anonymous memory, " + (thp.equals("never")
                ? "4 KiB pages (transparent huge pages off: kernel policy never)"
                : "transparent huge pages advised (kernel policy " + thp + ")");
        return true;
    }

    /** The kernel's transparent huge page policy (always, madvise, never), or "unknown". */
    static String transparentHugePages() {
        try {
            String s = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            int a = s.indexOf('['), b = s.indexOf(']');
            return a >= 0 && b > a ? s.substring(a + 1, b) : "unknown";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * Unmaps the file and releases its lock (once the last {@link #pin()} is released); idempotent. Afterwards every
     * method but {@link #path()}, {@link #pins()} and this one,
     * and every method of the {@link MapRecords} from {@link #records()}, throws an IllegalStateException naming the
     * store. Close only after the readers are done (a {@link org.relabel4j.ops.LabelPooling} gather already
     * running on another thread, or a {@code Loader} still assembling batches, must finish first: close the loader
     * first, which waits for its workers). A store held in RAM frees its copy then too. Tensors made over the
     * records ({@code TensorOps.records}) pin them: the mapping (or RAM copy) lives until LibTorch frees them.
     */
    @Override
    public synchronized void close() {
        Pointer b = base;
        if (b != null) {
            base = null;
            mapping = b;
            if (pins == 0) unmap();
        }
    }

    /**
     * Keeps the mapping alive for a view another library holds over it (e.g. {@code TensorOps.records}, a LibTorch
     * tensor that cannot check whether the store is open): until the returned pin is closed, {@link #close()} marks
     * the store closed (every method then throws) but leaves the file mapped, and the last pin's close unmaps it.
     * Closing a pin again does nothing. An IllegalStateException when the store is closed already.
     */
    public synchronized AutoCloseable pin() {
        live();
        ++pins;
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) unpin();
        };
    }

    /** Views of the mapping still pinned (see {@link #pin()}); 0 once every pin is closed. */
    public synchronized int pins() {
        return pins;
    }

    private synchronized void unpin() {
        if (--pins == 0 && base == null) unmap();
    }

    private void unmap() {
        if (ramAllocation != null) {
            Pointer.free(ramAllocation);
            ramAllocation = null;
            ram = null;
        }
        if (mapping != null) {
            RelabelNative.relabel_file_unmap(mapping, size);
            mapping = null;
            lock.close();
        }
    }
}
