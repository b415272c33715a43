package org.relabel4j.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.relabel4j.ops.MapFormat;

/**
 * The limits of the store format (docs/store-format.md, "Limits"): what a store can hold, checked by the writer
 * before any work ({@link LabelMapStoreWriter#create(Path, MapFormat, java.util.Map, long)}) and on every append.
 */
public final class StoreLimits {
    /** Records of one store: the key index's {@code sorted} array holds u32 record numbers. */
    public static final long MAX_RECORDS = 0xffffffffL;
    /** UTF-8 bytes of one key. */
    public static final int MAX_KEY_BYTES = LabelMapStoreWriter.MAX_KEY_BYTES;

    private StoreLimits() {
    }

    /** Bytes of a finished store of {@code records} records whose keys total {@code keyBytes} bytes. */
    public static long fileSize(MapFormat format, long records, long keyBytes) {
        long recordSize = format.layout().recordSize();
        long crcOffset = LabelMapStoreWriter.align64(Math.addExact(StoreHeader.SIZE, Math.multiplyExact(records, recordSize)));
        long indexOffset = LabelMapStoreWriter.align64(Math.addExact(crcOffset, Math.multiplyExact(records, 4L)));
        long indexSize = Math.addExact(Math.addExact(8, Math.multiplyExact(records, 12L)), keyBytes);
        return LabelMapStoreWriter.align64(Math.addExact(indexOffset, indexSize)) + 64 * 1024;  // + metadata
    }

    /**
     * Fails with a {@link StoreException} naming {@code out}, the limit and the value when a store of
     * {@code records} records (keys of about {@code keyBytesPerRecord} bytes each) cannot be written there: more
     * records than the format allows, a file size a 64-bit offset cannot hold, or more bytes than the file system
     * has free (the records, CRC array and key index together).
     */
    public static void check(Path out, MapFormat format, long records, long keyBytesPerRecord) throws IOException {
        if (records < 0) throw new IllegalArgumentException("expected records " + records + " < 0");
        if (records > MAX_RECORDS)
            throw new StoreException(out, "cannot hold " + records + " records: the store format holds at most "
                    + MAX_RECORDS + " (u32 record numbers in the key index); write one store per group of shards "
                    + "(`--shard i/N`; docs/scale.md)");
        long size;
        try {
            size = fileSize(format, records, Math.multiplyExact(records, Math.max(1, keyBytesPerRecord)));
        } catch (ArithmeticException e) {
            throw new StoreException(out, "cannot hold " + records + " records of " + format.layout().recordSize()
                    + " bytes: the file would pass 2^63 bytes");
        }
        Path dir = out.toAbsolutePath().getParent();
        while (dir != null && !Files.exists(dir)) dir = dir.getParent();
        if (dir == null) return;
        long free = Files.getFileStore(dir).getUsableSpace();
        if (size > free)
            throw new StoreException(out, String.format("%d records of %d bytes need about %.2f GB (records, CRCs and "
                    + "key index), but %s has %.2f GB free", records, format.layout().recordSize(), size / 1e9, dir,
                    free / 1e9));
    }
}
