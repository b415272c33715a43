package com.example.consumer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * What a JVM trainer does with relabel4j-core: writes its teacher's top-k label maps into a store once, then, per
 * batch, pools the soft target of each random crop from the store in place (no dense map, no LibTorch).
 */
public final class CropTargets {
    private CropTargets() {}

    /** One image's top-k label map: {@code scores} and class {@code ids}, both laid out [k][H][W]. */
    public record TopKMap(String key, float[] scores, int[] ids) {}

    /** Writes the maps into a new store at {@code out} (atomically: nothing at {@code out} until it is complete). */
    public static void writeStore(Path out, MapFormat format, List<TopKMap> maps) throws IOException {
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, format, Map.of("teacher", "example"))) {
            for (TopKMap m : maps) w.append(m.key(), m.scores(), m.ids());
            w.finish();
        }
    }

    /**
     * The LabelPooling targets [B, classes] (pooled logits, no softmax) of crop i of image {@code keys[i]}, box
     * {@code boxes[i]} = (x1, y1, x2, y2) normalized to the image.
     */
    public static float[] targets(Path store, List<String> keys, float[][] boxes) throws IOException {
        try (LabelMapStore s = LabelMapStore.open(store)) {
            LabelPooling pooling = LabelPooling.builder(s.format().classes()).build();
            long[] records = new long[keys.size()];
            float[] flat = new float[4 * keys.size()];
            for (int i = 0; i < records.length; ++i) {
                records[i] = s.require(keys.get(i));
                System.arraycopy(boxes[i], 0, flat, 4 * i, 4);
            }
            NdArray out = pooling.gather(s.records(), NdArray.of(records, records.length),
                    NdArray.of(flat, records.length, 4), null);
            return out.toFloatArray();
        }
    }
}
