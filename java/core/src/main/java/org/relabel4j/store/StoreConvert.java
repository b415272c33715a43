package org.relabel4j.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;

/** Rewrites a store with another score dtype and/or a smaller k (each cell keeps its k largest entries). */
public final class StoreConvert {
    private StoreConvert() {}

    /**
     * The format a conversion of {@code from} makes: {@code scoreType} (null keeps it) and {@code k} (0 or less keeps
     * it; never more than the store's).
     */
    public static MapFormat targetFormat(MapFormat from, DType scoreType, int k) {
        int newK = k <= 0 ? from.k() : k;
        if (newK > from.k())
            throw new IllegalArgumentException("k = " + newK + " exceeds the store's k = " + from.k() + ": convert can only drop entries");
        return new MapFormat(from.classes(), newK, from.height(), from.width(),
                scoreType == null ? from.scoreType() : scoreType, from.indexType());
    }

    /** Converts {@code in} into {@code out}; returns the target format. */
    public static MapFormat convert(Path in, Path out, DType scoreType, int k, LongConsumer progress) throws IOException {
        try (LabelMapStore src = LabelMapStore.open(in, LabelMapStore.Residency.MAPPED_READAHEAD)) {
            MapFormat from = src.format(), to = targetFormat(from, scoreType, k);
            int cells = from.height() * from.width(), keep = to.k() * cells;
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("converted_from", in.toString());
            meta.put("source_metadata", src.metadataJson());
            try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, to, meta, src.size())) {
                boolean finished = false;
                try {
                    for (long r = 0; r < src.size(); ++r) {
                        LabelMap m = src.map(r);
                        // entries are stored descending per cell: [k,H,W] keeps the first to.k() planes
                        w.append(m.key(), Arrays.copyOf(m.scores(), keep), Arrays.copyOf(m.ids(), keep));
                        if (progress != null && (r + 1) % 4096 == 0) progress.accept(r + 1);
                    }
                    w.finish();
                    finished = true;
                } finally {
                    if (!finished) w.abort();
                }
            }
            return to;
        }
    }
}
