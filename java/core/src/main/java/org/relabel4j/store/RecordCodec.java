package org.relabel4j.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.ops.MapFormat;

/**
 * Encodes label maps into the record layout of {@link MapFormat#layout()} and back. Encoding checks the map (class
 * ids in range and distinct per cell, finite scores that fit the score type) and orders each cell's entries by
 * descending score; uint8 scores are quantized affinely between the record's minimum and maximum.
 */
final class RecordCodec {
    private final MapFormat format;
    private final MapFormat.RecordLayout layout;
    private final int entries, cells, k;

    RecordCodec(MapFormat format) {
        this.format = format;
        this.layout = format.layout();
        this.cells = format.height() * format.width();
        this.k = format.k();
        this.entries = k * cells;
    }

    MapFormat format() {
        return format;
    }

    int recordSize() {
        return (int) layout.recordSize();
    }

    int entries() {
        return entries;
    }

    /**
     * Writes the map (scores/ids [k,H,W], flat) as one record at dst's position (dst little-endian; the record's
     * padding is zeroed) and advances it. The arrays are reordered in place where a cell is not descending.
     */
    void encode(String key, float[] scores, int[] ids, ByteBuffer dst) {
        if (scores.length != entries || ids.length != entries)
            throw new IllegalArgumentException(key + ": map has " + scores.length + " scores and " + ids.length
                    + " ids, expected k*H*W = " + entries + " (" + format + ")");
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (int cell = 0; cell < cells; ++cell) {
            sortCell(scores, ids, cell);
            for (int j = 0; j < k; ++j) {
                int e = j * cells + cell;
                float v = scores[e];
                int id = ids[e];
                if (!Float.isFinite(v)) throw new IllegalArgumentException(key + ": " + where(j, cell) + " score is " + v);
                if (id < 0 || id >= format.classes())
                    throw new IllegalArgumentException(key + ": " + where(j, cell) + " class id " + id
                            + " is outside [0, " + format.classes() + ")");
                for (int i = 0; i < j; ++i) {
                    if (ids[i * cells + cell] == id)
                        throw new IllegalArgumentException(key + ": class id " + id + " appears twice in cell "
                                + cellName(cell));
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        ByteBuffer r = dst.slice(dst.position(), recordSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < recordSize(); ++i) r.put(i, (byte) 0);
        int so = (int) layout.scoresOffset(), io = (int) layout.indicesOffset();
        switch (format.scoreType()) {
            case FLOAT32 -> {
                for (int e = 0; e < entries; ++e) r.putFloat(so + 4 * e, scores[e]);
            }
            case FLOAT16 -> {
                for (int e = 0; e < entries; ++e) {
                    short h = Half.fromFloat(scores[e]);
                    if ((h & 0x7c00) == 0x7c00)
                        throw new IllegalArgumentException(key + ": score " + scores[e] + " overflows float16 "
                                + "(max 65504): use float32 scores");
                    r.putShort(so + 2 * e, h);
                }
            }
            default -> {  // UINT8, affine per record
                float scale = hi > lo ? (hi - lo) / 255f : 0f;
                for (int e = 0; e < entries; ++e) {
                    int q = scale > 0 ? Math.round((scores[e] - lo) / scale) : 0;
                    r.put(so + e, (byte) Math.max(0, Math.min(255, q)));
                }
                r.putFloat((int) layout.quantOffset(), scale);
                r.putFloat((int) layout.quantOffset() + 4, lo);
            }
        }
        if (format.indexType() == DType.UINT16) {
            for (int e = 0; e < entries; ++e) r.putShort(io + 2 * e, (short) ids[e]);
        } else {
            for (int e = 0; e < entries; ++e) r.putInt(io + 4 * e, ids[e]);
        }
        dst.position(dst.position() + recordSize());
    }

    /** Decodes the record at src's position (not advanced). */
    LabelMap decode(String key, ByteBuffer src) {
        ByteBuffer r = src.slice(src.position(), recordSize()).order(ByteOrder.LITTLE_ENDIAN);
        float[] scores = new float[entries];
        int[] ids = new int[entries];
        int so = (int) layout.scoresOffset(), io = (int) layout.indicesOffset();
        switch (format.scoreType()) {
            case FLOAT32 -> {
                for (int e = 0; e < entries; ++e) scores[e] = r.getFloat(so + 4 * e);
            }
            case FLOAT16 -> {
                for (int e = 0; e < entries; ++e) scores[e] = Half.toFloat(r.getShort(so + 2 * e));
            }
            default -> {
                float scale = r.getFloat((int) layout.quantOffset()), offset = r.getFloat((int) layout.quantOffset() + 4);
                // offset + scale * q, as the native core dequantizes (float arithmetic, no fused multiply-add)
                for (int e = 0; e < entries; ++e) scores[e] = offset + scale * (float) (r.get(so + e) & 0xff);
            }
        }
        for (int e = 0; e < entries; ++e)
            ids[e] = format.indexType() == DType.UINT16 ? r.getShort(io + 2 * e) & 0xffff : r.getInt(io + 4 * e);
        return new LabelMap(key, format, scores, ids);
    }

    /**
     * What is wrong with a decoded map (a class id outside [0, C), a score that is not finite), or null: a record
     * whose bytes were damaged after its checksum was taken, or written by another program.
     */
    String check(LabelMap map) {
        float[] scores = map.scores();
        int[] ids = map.ids();
        for (int e = 0; e < entries; ++e) {
            if (ids[e] < 0 || ids[e] >= format.classes())
                return where(e / cells, e % cells) + " class id " + ids[e] + " is outside [0, " + format.classes() + ")";
            if (!Float.isFinite(scores[e])) return where(e / cells, e % cells) + " score is " + scores[e];
        }
        return null;
    }

    /** Insertion sort of one cell's k entries by descending score (stable: equal scores keep their order). */
    private void sortCell(float[] scores, int[] ids, int cell) {
        for (int j = 1; j < k; ++j) {
            float v = scores[j * cells + cell];
            int id = ids[j * cells + cell];
            int i = j;
            while (i > 0 && scores[(i - 1) * cells + cell] < v) {
                scores[i * cells + cell] = scores[(i - 1) * cells + cell];
                ids[i * cells + cell] = ids[(i - 1) * cells + cell];
                --i;
            }
            scores[i * cells + cell] = v;
            ids[i * cells + cell] = id;
        }
    }

    private String cellName(int cell) {
        return "(y=" + cell / format.width() + ", x=" + cell % format.width() + ")";
    }

    private String where(int j, int cell) {
        return "entry k=" + j + " at " + cellName(cell);
    }
}
