package org.relabel4j.store;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.MapRecords;
import org.relabel4j.torch.Torch;

/**
 * A finished label-map store (docs/store-format.md), memory-mapped read-only. Record access is O(1), key lookup a
 * binary search over the key index, and {@link #records()} hands the records to the native LabelPooling in place
 * (no copy; files above 2 GB included). Opening checks the header, the region bounds and the checksums of the CRC
 * array, index and metadata; {@link #verify} checks every record. Safe for concurrent readers; a store being
 * written is invisible until its writer renames it into place.
 */
public final class LabelMapStore implements Closeable {
    private final Path path;
    private final StoreHeader header;
    private final RecordCodec codec;
    private final KeyIndex index;
    private final String metadataJson;
    private Pointer base;
    private final long size;

    private LabelMapStore(Path path, Pointer base, long size, StoreHeader header, KeyIndex index, String metadataJson) {
        this.path = path;
        this.base = base;
        this.size = size;
        this.header = header;
        this.codec = new RecordCodec(header.format());
        this.index = index;
        this.metadataJson = metadataJson;
    }

    /** Opens and checks a store; errors name the file and what is wrong with it. */
    public static LabelMapStore open(Path path) throws IOException {
        Pointer base = new Pointer();
        long size;
        try (LongPointer sizeOut = new LongPointer(1)) {
            int status = RelabelNative.relabel_file_map(path.toString(), base, sizeOut);
            if (status != RelabelNative.OK) {
                if (!java.nio.file.Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString());
                throw new StoreException(path, RelabelNative.lastError());
            }
            size = sizeOut.get();
        }
        try {
            ByteBuffer head = region(base, 0, Math.min(size, StoreHeader.SIZE));
            StoreHeader h = StoreHeader.decode(path, head, size);
            h.checkRegions(path, size);
            checkCrc(path, "CRC array", region(base, h.crcOffset(), 4 * h.count()), h.crcOfCrcs());
            ByteBuffer indexRegion = region(base, h.indexOffset(), h.indexSize());
            checkCrc(path, "key index", indexRegion, h.indexCrc());
            ByteBuffer meta = region(base, h.metaOffset(), h.metaSize());
            checkCrc(path, "metadata", meta, h.metaCrc());
            byte[] json = new byte[meta.remaining()];
            meta.duplicate().get(json);
            KeyIndex index = KeyIndex.of(path, indexRegion, h.count());
            return new LabelMapStore(path, base, size, h, index, new String(json, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            RelabelNative.relabel_file_unmap(base, size);
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

    private static void checkCrc(Path path, String what, ByteBuffer region, int expected) throws StoreException {
        CRC32C crc = new CRC32C();
        crc.update(region.duplicate());
        if ((int) crc.getValue() != expected)
            throw new StoreException(path, String.format("%s checksum mismatch (stored %08x, computed %08x): the file is "
                    + "corrupt", what, expected, (int) crc.getValue()));
    }

    public Path path() {
        return path;
    }

    public MapFormat format() {
        return header.format();
    }

    /** Number of records. */
    public long size() {
        return header.count();
    }

    public long recordSize() {
        return header.recordSize();
    }

    /** Bytes of the whole file. */
    public long fileSize() {
        return size;
    }

    /** The metadata JSON object (teacher, command line, date, format, ...). */
    public String metadataJson() {
        return metadataJson;
    }

    /** The key of a record (its image path relative to the dataset root, without extension). */
    public String key(long record) {
        checkRecord(record);
        return index.key(record);
    }

    /** The record holding {@code key}, or -1. */
    public long find(String key) {
        return index.find(key);
    }

    /** The record holding {@code key}; an IllegalArgumentException naming the key and the store when absent. */
    public long require(String key) {
        long r = find(key);
        if (r < 0) throw new IllegalArgumentException(path + ": no label map for key '" + key + "'");
        return r;
    }

    /** The decoded map of a record (scores as float, uint8 dequantized). */
    public LabelMap map(long record) {
        checkRecord(record);
        return codec.decode(index.key(record), recordView(record));
    }

    /** Copies the raw bytes of {@code records[i]} into row i of {@code dst} (uint8 [B, recordSize]). */
    public void gather(long[] records, NdArray dst) {
        if (dst.dtype() != DType.UINT8 || dst.rank() != 2 || dst.shape(0) != records.length
                || dst.shape(1) != header.recordSize())
            throw new IllegalArgumentException("dst: expected uint8[" + records.length + ", " + header.recordSize() + "], got " + dst);
        Pointer target = new Pointer(dst.buffer());
        for (int i = 0; i < records.length; ++i) {
            checkRecord(records[i]);
            Pointer.memcpy(new Pointer(target).position(i * header.recordSize()),
                    new Pointer(live()).position(header.recordsOffset() + records[i] * header.recordSize()),
                    header.recordSize());
        }
    }

    /** The records in place, for {@code LabelPooling.gather(store.records(), ...)}; valid while this store is open. */
    public MapRecords records() {
        return MapRecords.of(header.format(), header.count(), new Pointer(live()).position(header.recordsOffset()), -1);
    }

    /** A CPU uint8 tensor [N, recordSize] over the mapped records (no copy); valid while this store is open. */
    public Tensor recordsTensor() {
        Torch.init();
        return org.bytedeco.pytorch.global.torch.from_blob(new Pointer(live()).position(header.recordsOffset()),
                new long[] {header.count(), header.recordSize()},
                new org.bytedeco.pytorch.TensorOptions(org.bytedeco.pytorch.global.torch.ScalarType.Byte));
    }

    /** The records copied to CUDA device memory once: the resident GPU path. Close the result to free it. */
    public DeviceRecords uploadToCuda(int device) {
        long bytes = header.count() * header.recordSize();
        CudaBuffer buffer = CudaBuffer.allocate(device, Math.max(bytes, 1));
        try {
            if (bytes > 0)
                NativeStatus.check(RelabelNative.relabel_cuda_memcpy(buffer.pointer(),
                        new Pointer(live()).position(header.recordsOffset()), bytes, 1), "upload " + path + " to cuda:" + device);
            return new DeviceRecords(buffer, MapRecords.of(header.format(), header.count(), buffer.pointer(), device));
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
    }

    /** Records resident in GPU memory; closing frees them. */
    public record DeviceRecords(CudaBuffer buffer, MapRecords records) implements AutoCloseable {
        @Override
        public void close() {
            buffer.close();
        }
    }

    /** Result of {@link #verify}: records whose CRC32C does not match (at most 100 listed), out of {@code checked}. */
    public record Verification(long checked, long bad, List<Long> firstBad) {
        public boolean ok() {
            return bad == 0;
        }
    }

    /** Checks every record's CRC32C; {@code progress} gets the number of records checked so far (may be null). */
    public Verification verify(LongConsumer progress) {
        ByteBuffer crcs = region(live(), header.crcOffset(), 4 * header.count());
        long bad = 0;
        List<Long> first = new ArrayList<>();
        CRC32C crc = new CRC32C();
        for (long r = 0; r < header.count(); ++r) {
            crc.reset();
            crc.update(recordView(r));
            if ((int) crc.getValue() != crcs.getInt((int) (4 * r))) {
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
        return region(live(), header.crcOffset() + 4 * record, 4).getInt(0);
    }

    /** A view of one record's bytes in the mapping. */
    ByteBuffer recordView(long record) {
        return region(live(), header.recordsOffset() + record * header.recordSize(), header.recordSize());
    }

    private void checkRecord(long record) {
        if (record < 0 || record >= header.count())
            throw new IndexOutOfBoundsException(path + ": record " + record + " is outside [0, " + header.count() + ")");
    }

    private Pointer live() {
        if (base == null) throw new IllegalStateException(path + " is closed");
        return base;
    }

    @Override
    public void close() {
        if (base != null) {
            RelabelNative.relabel_file_unmap(base, size);
            base = null;
        }
    }
}
