package org.relabel4j.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;

/** The 4096-byte header of a label-map store (docs/store-format.md). */
record StoreHeader(MapFormat format, long count, long recordSize, long recordsOffset, long crcOffset, long indexOffset,
        long indexSize, long metaOffset, long metaSize, int crcOfCrcs, int indexCrc, int metaCrc, boolean complete) {
    static final int SIZE = 4096;
    static final int VERSION = 1;
    static final byte[] MAGIC = "RLMSTORE".getBytes(StandardCharsets.US_ASCII);
    private static final int FLAG_COMPLETE = 1;

    ByteBuffer encode() {
        MapFormat.RecordLayout layout = format.layout();
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(SIZE);
        b.putInt(format.classes()).putInt(format.k()).putInt(format.height()).putInt(format.width());
        b.putInt(format.scoreType().nativeCode()).putInt(format.indexType().nativeCode());
        b.putLong(count).putLong(recordSize).putLong(recordsOffset).putLong(crcOffset).putLong(indexOffset)
                .putLong(indexSize).putLong(metaOffset).putLong(metaSize);
        b.putInt(crcOfCrcs).putInt(indexCrc).putInt(metaCrc).putInt(complete ? FLAG_COMPLETE : 0);
        b.putLong(layout.scoresOffset()).putLong(layout.indicesOffset()).putLong(layout.quantOffset());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, SIZE - 4);
        b.putInt(SIZE - 4, (int) crc.getValue());
        return b.clear();
    }

    /** Parses and checks a header read from {@code file} of {@code fileSize} bytes. */
    static StoreHeader decode(Path file, ByteBuffer raw, long fileSize) throws StoreException {
        if (raw.remaining() < SIZE)
            throw new StoreException(file, "truncated: " + fileSize + " bytes, shorter than the 4096-byte header");
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC))
            throw new StoreException(file, "not a ReLabel4J label-map store (magic "
                    + new String(magic, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", "?") + ", expected RLMSTORE)");
        int version = b.getInt(), headerSize = b.getInt();
        if (version != VERSION)
            throw new StoreException(file, "format version " + version + " is not supported (this reader knows "
                    + VERSION + ")");
        byte[] all = new byte[SIZE];
        b.get(0, all);
        CRC32C crc = new CRC32C();
        crc.update(all, 0, SIZE - 4);
        int stored = b.getInt(SIZE - 4);
        if ((int) crc.getValue() != stored)
            throw new StoreException(file, String.format("header checksum mismatch (stored %08x, computed %08x): the "
                    + "header is corrupt", stored, (int) crc.getValue()));
        if (headerSize != SIZE) throw new StoreException(file, "header size " + headerSize + ", expected " + SIZE);
        int classes = b.getInt(), k = b.getInt(), height = b.getInt(), width = b.getInt();
        int scoreCode = b.getInt(), indexCode = b.getInt();
        MapFormat format;
        try {
            format = new MapFormat(classes, k, height, width, dtype(file, "score dtype", scoreCode),
                    dtype(file, "class-id dtype", indexCode));
        } catch (IllegalArgumentException e) {
            throw new StoreException(file, "header: " + e.getMessage());
        }
        StoreHeader h = new StoreHeader(format, b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong(), b.getLong(), b.getInt(), b.getInt(), b.getInt(), (b.getInt() & FLAG_COMPLETE) != 0);
        long scoresOffset = b.getLong(), indicesOffset = b.getLong(), quantOffset = b.getLong();
        MapFormat.RecordLayout layout = format.layout();
        if (h.recordSize != layout.recordSize() || scoresOffset != layout.scoresOffset()
                || indicesOffset != layout.indicesOffset() || quantOffset != layout.quantOffset())
            throw new StoreException(file, "record layout (size " + h.recordSize + ", offsets " + scoresOffset + "/"
                    + indicesOffset + "/" + quantOffset + ") differs from the native layout " + layout + " of " + format);
        return h;
    }

    private static DType dtype(Path file, String field, int code) throws StoreException {
        for (DType t : DType.values()) {
            if (t == DType.FLOAT32 || t == DType.FLOAT16 || t == DType.UINT8 || t == DType.UINT16 || t == DType.INT32) {
                if (t.nativeCode() == code) return t;
            }
        }
        throw new StoreException(file, "header: unknown " + field + " code " + code);
    }

    /** Checks that the regions lie inside a file of fileSize bytes, in order, without overlap. */
    void checkRegions(Path file, long fileSize) throws StoreException {
        if (!complete) throw new StoreException(file, "the store is unfinished (no complete flag): finish or resume its writer");
        if (count < 0 || count > StoreLimits.MAX_RECORDS || recordSize <= 0 || count > (Long.MAX_VALUE - SIZE) / recordSize)
            throw new StoreException(file, "header: record count " + count + " of " + recordSize + " bytes is outside the "
                    + "format's limits (at most " + StoreLimits.MAX_RECORDS + " records; docs/store-format.md)");
        long records = count * recordSize;
        check(file, "records", recordsOffset, records, SIZE, fileSize);
        check(file, "CRC array", crcOffset, Math.multiplyExact(count, 4L), recordsOffset + records, fileSize);
        check(file, "key index", indexOffset, indexSize, crcOffset + 4 * count, fileSize);
        check(file, "metadata", metaOffset, metaSize, indexOffset + indexSize, fileSize);
        if (recordsOffset % 64 != 0) throw new StoreException(file, "records offset " + recordsOffset + " is not 64-byte aligned");
    }

    private static void check(Path file, String region, long offset, long size, long notBefore, long fileSize)
            throws StoreException {
        if (offset < notBefore || size < 0 || offset > fileSize || size > fileSize - offset)
            throw new StoreException(file, "truncated or corrupt: the " + region + " region [" + offset + ", +" + size
                    + ") does not fit in the file of " + fileSize + " bytes");
    }
}
