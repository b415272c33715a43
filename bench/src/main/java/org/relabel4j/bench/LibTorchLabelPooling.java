package org.relabel4j.bench;

import org.bytedeco.javacpp.FloatPointer;
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
 *       released code builds them (921 MB for B = 1024);</li>
 *   <li>the box average of roi_align (output 1x1, aligned=False, sampling_ratio=-1) as one batched
 *       {@code grid_sampler} (bilinear, align_corners=True) over each crop's own ceil(roi) x ceil(roi) sample grid,
 *       padded to the batch's largest grid. The sample positions are built on the host and clamped into the map
 *       as roi_align clamps them; a 0/1 mask drops padded samples and those outside [-1, H] x [-1, W] (which
 *       roi_align counts as 0); {@code (sampled * mask).sum([2,3]) / count};</li>
 *   <li>{@code softmax(pooled, 1)}.</li>
 * </ol>
 *
 * <p>This computes roi_align's value up to float rounding of the normalized grid coordinates (~1e-6; the bench
 * module's tests compare it with the library), with roi_align's cost: zeroing and scattering the dense batch, then
 * C x samples bilinear reads per crop (plus the padded samples).
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
        Tensor dense = torch.zeros(new long[] {batch, classes, height, width}, new TensorOptions(ScalarType.Float));
        dense.scatter_(1, ids.to(ScalarType.Long), scores);

        int gh = 1, gw = 1;
        for (int b = 0; b < batch; ++b) {
            gh = Math.max(gh, (int) Math.ceil(roiSize(boxes[4 * b + 1], boxes[4 * b + 3], height)));
            gw = Math.max(gw, (int) Math.ceil(roiSize(boxes[4 * b], boxes[4 * b + 2], width)));
        }
        float[] grid = new float[batch * gh * gw * 2];
        float[] mask = new float[batch * gh * gw];
        float[] count = new float[batch];
        for (int b = 0; b < batch; ++b) {
            float x1 = boxes[4 * b] * width - 0.5f, y1 = boxes[4 * b + 1] * height - 0.5f;
            float roiW = roiSize(boxes[4 * b], boxes[4 * b + 2], width);
            float roiH = roiSize(boxes[4 * b + 1], boxes[4 * b + 3], height);
            int gridH = (int) Math.ceil(roiH), gridW = (int) Math.ceil(roiW);
            count[b] = Math.max(gridH * gridW, 1);
            for (int iy = 0; iy < gridH; ++iy) {
                float y = y1 + (iy + .5f) * roiH / gridH;
                for (int ix = 0; ix < gridW; ++ix) {
                    float x = x1 + (ix + .5f) * roiW / gridW;
                    if (y < -1f || y > height || x < -1f || x > width) continue;
                    int at = (b * gh + iy) * gw + ix;
                    mask[at] = 1f;
                    float cy = Math.min(Math.max(y, 0f), height - 1), cx = Math.min(Math.max(x, 0f), width - 1);
                    grid[2 * at] = 2f * cx / (width - 1) - 1f;
                    grid[2 * at + 1] = 2f * cy / (height - 1) - 1f;
                }
            }
        }
        TensorOptions f32 = new TensorOptions(ScalarType.Float);
        Tensor gridT = torch.from_blob(new FloatPointer(grid), new long[] {batch, gh, gw, 2}, f32);
        Tensor maskT = torch.from_blob(new FloatPointer(mask), new long[] {batch, 1, gh, gw}, f32);
        Tensor countT = torch.from_blob(new FloatPointer(count), new long[] {batch, 1}, f32);
        // interpolation 0 = bilinear, padding 1 = border (all positions are clamped inside anyway)
        Tensor sampled = torch.grid_sampler(dense, gridT, 0, 1, true);
        Tensor pooled = sampled.mul(maskT).sum(new long[] {2, 3}, false, new ScalarTypeOptional()).div(countT);
        return pooled.softmax(1);
    }

    /** roi_align's roi extent in map cells along one axis (aligned=False: at least 1). */
    private static float roiSize(float lo, float hi, int side) {
        return Math.max((hi * side - 0.5f) - (lo * side - 0.5f), 1f);
    }
}
