package org.relabel4j.testing;

/**
 * A plain-Java LabelPooling written from the definitions, for property tests: the dense map is materialized
 * (dense[c,y,x] = score when c is among the top-k at (y,x), else 0) and torchvision's roi_align (aligned=False,
 * spatial_scale=1, sampling_ratio=-1) is evaluated sample by sample with its bilinear interpolation, in float
 * arithmetic like torchvision's CPU kernel. Deliberately naive: no separable weights, no sparse accumulation.
 */
public final class ReferenceLabelPooling {
    private ReferenceLabelPooling() {}

    /** dense [C,H,W] from one map: scores/ids [k,H,W] flat. */
    public static float[] denseMap(float[] scores, int[] ids, int k, int h, int w, int classes) {
        float[] dense = new float[classes * h * w];
        for (int j = 0; j < k; ++j)
            for (int cell = 0; cell < h * w; ++cell) dense[ids[j * h * w + cell] * h * w + cell] = scores[j * h * w + cell];
        return dense;
    }

    /** The probs-mode dense map: per cell, a softmax over that cell's top-k (temperature t), 0 elsewhere. */
    public static float[] denseProbs(float[] scores, int[] ids, int k, int h, int w, int classes, float t) {
        float[] dense = new float[classes * h * w];
        for (int cell = 0; cell < h * w; ++cell) {
            double m = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < k; ++j) m = Math.max(m, scores[j * h * w + cell]);
            for (int j = 0; j < k; ++j) z += Math.exp((scores[j * h * w + cell] - m) / t);
            for (int j = 0; j < k; ++j)
                dense[ids[j * h * w + cell] * h * w + cell] = (float) (Math.exp((scores[j * h * w + cell] - m) / t) / z);
        }
        return dense;
    }

    /** roi_align of dense [C,H,W] over the box (x1, y1, x2, y2) in map coordinates; returns [C,S,S]. */
    public static float[] roiAlign(float[] dense, int classes, int h, int w, float x1, float y1, float x2, float y2,
            int s) {
        float roiW = Math.max(x2 - x1, 1f), roiH = Math.max(y2 - y1, 1f);
        float binH = roiH / s, binW = roiW / s;
        int gridH = (int) Math.ceil(roiH / s), gridW = (int) Math.ceil(roiW / s);
        float count = Math.max(gridH * gridW, 1);
        float[] out = new float[classes * s * s];
        for (int c = 0; c < classes; ++c) {
            for (int ph = 0; ph < s; ++ph) {
                for (int pw = 0; pw < s; ++pw) {
                    float sum = 0;
                    for (int iy = 0; iy < gridH; ++iy) {
                        float y = y1 + ph * binH + (iy + .5f) * binH / gridH;
                        for (int ix = 0; ix < gridW; ++ix) {
                            float x = x1 + pw * binW + (ix + .5f) * binW / gridW;
                            sum += bilinear(dense, c, h, w, y, x);
                        }
                    }
                    out[(c * s + ph) * s + pw] = sum / count;
                }
            }
        }
        return out;
    }

    private static float bilinear(float[] dense, int c, int h, int w, float y, float x) {
        if (y < -1f || y > h || x < -1f || x > w) return 0f;
        if (y <= 0) y = 0;
        if (x <= 0) x = 0;
        int yLow = (int) y, xLow = (int) x, yHigh, xHigh;
        if (yLow >= h - 1) {
            yHigh = yLow = h - 1;
            y = yLow;
        } else {
            yHigh = yLow + 1;
        }
        if (xLow >= w - 1) {
            xHigh = xLow = w - 1;
            x = xLow;
        } else {
            xHigh = xLow + 1;
        }
        float ly = y - yLow, lx = x - xLow, hy = 1f - ly, hx = 1f - lx;
        int base = c * h * w;
        return hy * hx * dense[base + yLow * w + xLow] + hy * lx * dense[base + yLow * w + xHigh]
                + ly * hx * dense[base + yHigh * w + xLow] + ly * lx * dense[base + yHigh * w + xHigh];
    }

    /** Mirrors [C,S,S] along the last axis (a horizontally flipped crop). */
    public static float[] flip(float[] pooled, int classes, int s) {
        float[] out = new float[pooled.length];
        for (int c = 0; c < classes; ++c)
            for (int ph = 0; ph < s; ++ph)
                for (int pw = 0; pw < s; ++pw) out[(c * s + ph) * s + (s - 1 - pw)] = pooled[(c * s + ph) * s + pw];
        return out;
    }

    /** Softmax over classes of [C,S,S] per position, with temperature t. */
    public static float[] softmax(float[] pooled, int classes, int s, float t) {
        float[] out = new float[pooled.length];
        for (int p = 0; p < s * s; ++p) {
            double m = Double.NEGATIVE_INFINITY, z = 0;
            for (int c = 0; c < classes; ++c) m = Math.max(m, pooled[c * s * s + p]);
            for (int c = 0; c < classes; ++c) z += Math.exp((pooled[c * s * s + p] - m) / t);
            for (int c = 0; c < classes; ++c) out[c * s * s + p] = (float) (Math.exp((pooled[c * s * s + p] - m) / t) / z);
        }
        return out;
    }

    /** Divides each position's class vector by its sum (uniform 1/C where the sum is 0). */
    public static float[] normalize(float[] pooled, int classes, int s) {
        float[] out = new float[pooled.length];
        for (int p = 0; p < s * s; ++p) {
            double z = 0;
            for (int c = 0; c < classes; ++c) z += pooled[c * s * s + p];
            for (int c = 0; c < classes; ++c) out[c * s * s + p] = z > 0 ? (float) (pooled[c * s * s + p] / z) : 1f / classes;
        }
        return out;
    }
}
