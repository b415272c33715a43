package org.relabel4j.bench;

import java.util.Arrays;

/**
 * The reference a Java user writes without ReLabel4J: LabelPooling (S = 1, softmax) in plain Java arrays, on one
 * thread, from the definition. Per crop, the top-k map is scattered into a dense {@code [C,H,W]} float array
 * (one crop at a time, the buffer reused: cheaper than the released code's dense {@code [B,C,H,W]} batch), then
 * torchvision's CPU roi_align (output 1x1, aligned=False, sampling_ratio=-1: a ceil(roi) x ceil(roi) grid of
 * bilinear samples; like torchvision, the sample positions and weights are computed once per crop and applied to
 * every class), then a softmax over the C classes in double precision. Same result as the library (to float
 * rounding); the bench module's tests check that.
 */
public final class PlainJavaLabelPooling {
    private final int classes, k, height, width;
    private final float[] dense;
    private int[] offsets = new int[4 * 256];
    private float[] weights = new float[4 * 256];
    private final double[] pooled;

    public PlainJavaLabelPooling(int classes, int k, int height, int width) {
        this.classes = classes;
        this.k = k;
        this.height = height;
        this.width = width;
        this.dense = new float[classes * height * width];
        this.pooled = new double[classes];
    }

    /** scores/ids {@code [B,k,H,W]} flat, boxes {@code [B,4]} normalized (x1, y1, x2, y2); out {@code [B,C]}. */
    public void apply(float[] scores, int[] ids, float[] boxes, int batch, float[] out) {
        int hw = height * width;
        for (int b = 0; b < batch; ++b) {
            // 1. the dense map of this crop's image
            Arrays.fill(dense, 0f);
            int base = b * k * hw;
            for (int e = 0; e < k * hw; ++e) dense[ids[base + e] * hw + e % hw] = scores[base + e];
            // 2. roi_align over the box in map coordinates (x1*W - 0.5, ...), aligned=False, output 1x1
            float x1 = boxes[4 * b] * width - 0.5f, y1 = boxes[4 * b + 1] * height - 0.5f;
            float x2 = boxes[4 * b + 2] * width - 0.5f, y2 = boxes[4 * b + 3] * height - 0.5f;
            float roiW = Math.max(x2 - x1, 1f), roiH = Math.max(y2 - y1, 1f);
            int gridH = (int) Math.ceil(roiH), gridW = (int) Math.ceil(roiW);
            float count = Math.max(gridH * gridW, 1);
            int samples = 0;
            if (4 * gridH * gridW > offsets.length) {
                offsets = new int[4 * gridH * gridW];
                weights = new float[4 * gridH * gridW];
            }
            for (int iy = 0; iy < gridH; ++iy) {
                float y = y1 + (iy + .5f) * roiH / gridH;
                for (int ix = 0; ix < gridW; ++ix) {
                    float x = x1 + (ix + .5f) * roiW / gridW;
                    if (sample(y, x, 4 * samples)) ++samples;
                }
            }
            for (int c = 0; c < classes; ++c) {
                int plane = c * hw;
                float sum = 0;
                for (int s = 0; s < 4 * samples; s += 4) {
                    sum += weights[s] * dense[plane + offsets[s]] + weights[s + 1] * dense[plane + offsets[s + 1]]
                            + weights[s + 2] * dense[plane + offsets[s + 2]]
                            + weights[s + 3] * dense[plane + offsets[s + 3]];
                }
                pooled[c] = sum / count;
            }
            // 3. softmax over the classes
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int c = 0; c < classes; ++c) max = Math.max(max, pooled[c]);
            for (int c = 0; c < classes; ++c) z += Math.exp(pooled[c] - max);
            for (int c = 0; c < classes; ++c) out[b * classes + c] = (float) (Math.exp(pooled[c] - max) / z);
        }
    }

    /** torchvision's bilinear sample setup: false when (y, x) lies outside [-1, H] x [-1, W] (weight 0). */
    private boolean sample(float y, float x, int at) {
        if (y < -1f || y > height || x < -1f || x > width) return false;
        if (y <= 0) y = 0;
        if (x <= 0) x = 0;
        int yLow = (int) y, xLow = (int) x, yHigh, xHigh;
        if (yLow >= height - 1) {
            yHigh = yLow = height - 1;
            y = yLow;
        } else {
            yHigh = yLow + 1;
        }
        if (xLow >= width - 1) {
            xHigh = xLow = width - 1;
            x = xLow;
        } else {
            xHigh = xLow + 1;
        }
        float ly = y - yLow, lx = x - xLow, hy = 1f - ly, hx = 1f - lx;
        offsets[at] = yLow * width + xLow;
        offsets[at + 1] = yLow * width + xHigh;
        offsets[at + 2] = yHigh * width + xLow;
        offsets[at + 3] = yHigh * width + xHigh;
        weights[at] = hy * hx;
        weights[at + 1] = hy * lx;
        weights[at + 2] = ly * hx;
        weights[at + 3] = ly * lx;
        return true;
    }
}
