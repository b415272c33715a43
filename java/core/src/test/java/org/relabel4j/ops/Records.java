package org.relabel4j.ops;

import java.nio.ByteBuffer;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/** Test helper: packs maps into the record layout of {@link MapFormat#layout()}. */
public final class Records {
    private Records() {}

    /** records[slot[i]] = map i of scores/indices [B,k,H,W] (types matching format); uint8 [B, recordSize]. */
    public static NdArray pack(MapFormat format, NdArray scores, NdArray indices, long[] slot) {
        MapFormat.RecordLayout layout = format.layout();
        int n = (int) scores.shape(0);
        long entries = (long) format.k() * format.height() * format.width();
        NdArray records = NdArray.zeros(DType.UINT8, n, layout.recordSize());
        ByteBuffer dst = records.buffer(), s = scores.buffer(), ix = indices.buffer();
        long sBytes = entries * format.scoreType().size(), iBytes = entries * format.indexType().size();
        for (int i = 0; i < n; ++i) {
            int base = (int) (slot[i] * layout.recordSize());
            dst.put(base + (int) layout.scoresOffset(), s, (int) (i * sBytes), (int) sBytes);
            dst.put(base + (int) layout.indicesOffset(), ix, (int) (i * iBytes), (int) iBytes);
        }
        return records;
    }
}
