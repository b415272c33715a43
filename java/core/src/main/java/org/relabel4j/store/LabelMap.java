package org.relabel4j.store;

import java.util.ArrayList;
import java.util.List;
import org.relabel4j.ops.MapFormat;

/**
 * One image's decoded top-k label map: {@code scores[(j*H + y)*W + x]} is the j-th largest score at cell (y, x)
 * (uint8 scores dequantized), {@code ids} the matching class ids.
 */
public record LabelMap(String key, MapFormat format, float[] scores, int[] ids) {
    /** Score of entry j at (y, x). */
    public float score(int j, int y, int x) {
        return scores[(j * format.height() + y) * format.width() + x];
    }

    /** Class id of entry j at (y, x). */
    public int id(int j, int y, int x) {
        return ids[(j * format.height() + y) * format.width() + x];
    }

    /** A class and a value, for summaries. */
    public record ClassScore(int classId, double value) {}

    /**
     * The whole image's pooled logits (each cell's top-k logits averaged over all cells, non-top-k counting as
     * 0), highest first: what the teacher says about the whole image.
     */
    public List<ClassScore> wholeImageTop(int n) {
        double[] sum = new double[format.classes()];
        int cells = format.height() * format.width();
        for (int i = 0; i < scores.length; ++i) sum[ids[i]] += scores[i];
        List<ClassScore> all = new ArrayList<>();
        for (int c = 0; c < sum.length; ++c) {
            if (sum[c] != 0) all.add(new ClassScore(c, sum[c] / cells));
        }
        all.sort((a, b) -> Double.compare(b.value(), a.value()));
        return all.subList(0, Math.min(n, all.size()));
    }
}
