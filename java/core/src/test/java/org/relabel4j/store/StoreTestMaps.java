package org.relabel4j.store;

import java.util.Random;
import org.relabel4j.ops.MapFormat;

/** Random label maps for store tests: distinct ids per cell, scores descending per cell. */
final class StoreTestMaps {
    private StoreTestMaps() {}

    record Map(String key, float[] scores, int[] ids) {}

    static Map random(Random rnd, MapFormat f, String key) {
        int cells = f.height() * f.width(), k = f.k();
        float[] scores = new float[k * cells];
        int[] ids = new int[k * cells];
        for (int cell = 0; cell < cells; ++cell) {
            float[] v = new float[k];
            for (int j = 0; j < k; ++j) v[j] = (float) rnd.nextGaussian() * 3 + 4;
            java.util.Arrays.sort(v);
            int[] picked = rnd.ints(0, f.classes()).distinct().limit(k).toArray();
            for (int j = 0; j < k; ++j) {
                scores[j * cells + cell] = v[k - 1 - j];
                ids[j * cells + cell] = picked[j];
            }
        }
        return new Map(key, scores, ids);
    }

    static String key(int i) {
        return String.format("n%08d/n%08d_%d", i % 7, i % 7, i);
    }
}
