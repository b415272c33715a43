package org.relabel4j.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The reference a JavaCPP user writes without ReLabel4J (JavaCPP's LibTorch has no torchvision, so no roi_align):
 * LabelPooling (S = 1, softmax) with LibTorch ops, the released code's data flow.
 *
 * <ol>
 *   <li>{@code dense = zeros([B,C,H,W]); dense.scatter_(1, ids.to(int64), scores)}: the dense top-k maps, as the
 *       released code builds them (921 MB for B = 1024, allocated per call like the released code does);</li>
 *   <li>roi_align's box average (output 1x1, aligned=False, sampling_ratio=-1), per crop as roi_align loops over
 *       its rois: {@code grid_sampler(dense[b:b+1], grid_b)} (bilinear, zeros padding, align_corners=True) over the
 *       crop's own ceil(roi_h) x ceil(roi_w) sample grid, then {@code sum([2,3])}. The sample positions are built
 *       on the host (one small tensor per batch) and clamped into the map as roi_align clamps them; samples that
 *       roi_align counts as 0 (outside [-1, H] x [-1, W]) point far outside the map, where zeros padding reads 0;
 *       {@code pooled / count};</li>
 *   <li>{@code softmax(pooled, 1)}.</li>
 * </ol>
 *
 * <p>This computes roi_align's value up to float rounding of the normalized grid coordinates (~1e-6; the bench
 * module's tests compare it with the library), at roi_align's cost: zeroing and scattering the dense batch, then
 * C x samples bilinear reads per crop, plus a handful of small LibTorch calls per crop. A batched variant (one
 * grid_sampler over a grid padded to the largest crop, 11x11) spent ~9x longer on the box average here: it samples
 * the padding too and allocates [B,C,11,11] intermediates.
 */
public final class LibTorchLabelPooling {
    private final int classes, height, width;

    public LibTorchLabelPooling(int classes, int height, int width) {
        this.classes = classes;
        this.height = height;
        this.width = width;
    }

    /**
     * scores float32 and ids int32 tensors {@code [B,k,H,W]} (CPU), boxes {@code [B,4]} normalized (x1, y1, x2, y2)
     * on the host; returns softmax targets {@code [B,C]}. Run inside a {@code PointerScope}: every intermediate
     * tensor is attached to it.
     */
    public Tensor apply(Tensor scores, Tensor ids, float[] boxes) {
        int batch = (int) scores.size(0);
        TensorOptions f32 = new TensorOptions(ScalarType.Float);
        Tensor dense = torch.zeros(new long[] {batch, classes, height, width}, f32);
        dense.scatter_(1, ids.to(ScalarType.Long), scores);

        int[] gridH = new int[batch], gridW = new int[batch], start = new int[batch + 1];
        float[] roiH = new float[batch], roiW = new float[batch], count = new float[batch];
        for (int b = 0; b < batch; ++b) {
            roiW[b] = roiSize(boxes[4 * b], boxes[4 * b + 2], width);
            roiH[b] = roiSize(boxes[4 * b + 1], boxes[4 * b + 3], height);
            gridH[b] = (int) Math.ceil(roiH[b]);
            gridW[b] = (int) Math.ceil(roiW[b]);
            count[b] = Math.max(gridH[b] * gridW[b], 1);
            start[b + 1] = start[b] + gridH[b] * gridW[b];
        }
        float[] grid = new float[2 * start[batch]];
        for (int b = 0; b < batch; ++b) {
            float x1 = boxes[4 * b] * width - 0.5f, y1 = boxes[4 * b + 1] * height - 0.5f;
            for (int iy = 0; iy < gridH[b]; ++iy) {
                float y = y1 + (iy + .5f) * roiH[b] / gridH[b];
                for (int ix = 0; ix < gridW[b]; ++ix) {
                    float x = x1 + (ix + .5f) * roiW[b] / gridW[b];
                    int at = 2 * (start[b] + iy * gridW[b] + ix);
                    if (y < -1f || y > height || x < -1f || x > width) {
                        grid[at] = grid[at + 1] = OUTSIDE;
                        continue;
                    }
                    float cy = Math.min(Math.max(y, 0f), height - 1), cx = Math.min(Math.max(x, 0f), width - 1);
                    grid[at] = 2f * cx / (width - 1) - 1f;
                    grid[at + 1] = 2f * cy / (height - 1) - 1f;
                }
            }
        }
        Tensor grids = torch.from_blob(new FloatPointer(grid), new long[] {grid.length}, f32);
        Tensor pooled = torch.empty(new long[] {batch, classes}, f32, null);
        ScalarTypeOptional sameType = new ScalarTypeOptional();
        for (int b = 0; b < batch; ++b) {
            try (PointerScope crop = new PointerScope()) {
                Tensor g = grids.narrow(0, 2L * start[b], 2L * gridH[b] * gridW[b]).view(1, gridH[b], gridW[b], 2);
                // interpolation 0 = bilinear, padding 0 = zeros
                Tensor sampled = torch.grid_sampler(dense.narrow(0, b, 1), g, 0, 0, true);
                pooled.narrow(0, b, 1).copy_(sampled.sum(new long[] {2, 3}, false, sameType));
            }
        }
        Tensor countT = torch.from_blob(new FloatPointer(count), new long[] {batch, 1}, f32);
        return pooled.div(countT).softmax(1);
    }

    /** A normalized grid coordinate far outside the map: zeros padding samples 0 there. */
    private static final float OUTSIDE = -4f;

    /** roi_align's roi extent in map cells along one axis (aligned=False: at least 1). */
    private static float roiSize(float lo, float hi, int side) {
        return Math.max((hi * side - 0.5f) - (lo * side - 0.5f), 1f);
    }
}
