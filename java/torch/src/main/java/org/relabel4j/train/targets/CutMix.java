package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.data.transform.SampleRandom;
import org.relabel4j.nd.NdArray;

/**
 * CutMix as the released ReLabel training applies it: with probability {@code prob} (and not during the last
 * {@code offEpochs} of {@code epochs} epochs), lambda ~ Beta(beta, beta), a box of side sqrt(1 - lambda) times the
 * image centred at a uniform point and clipped, the box pasted from a permutation of the batch, and the targets
 * mixed by the pasted area: lambda' t + (1 - lambda') t[perm] with lambda' = 1 - box area / image area (ReLabel
 * targets are mixed the same way). Every choice of a step comes from (seed, epoch, step).
 *
 * <p>Two jobs, at two points of a step: {@link #mixBatch} samples the step's mix and pastes the boxes into the
 * images (before the model and any teacher see them; every objective trains on the mixed images), and {@link
 * #apply}, the last {@link TargetTransform}, mixes the targets with the mix the batch carries. The functional forms
 * are {@link #sample}, {@link #mixImages} and {@link #mixTargets}.
 */
public record CutMix(double prob, double beta, int offEpochs, int epochs, long seed) implements TargetTransform {
    public boolean enabled() {
        return prob > 0 && beta > 0;
    }

    /** Samples the mix of step {@code step} and pastes it into {@code images} [B,C,H,W] in place; null: no mix. */
    public Mix mixBatch(Tensor images, int epoch, long step) {
        long[] shape = org.relabel4j.torch.Tensors.shape(images);
        Mix mix = sample(epoch, step, (int) shape[0], (int) shape[2], (int) shape[3]);
        if (mix != null) mixImages(images, mix);
        return mix;
    }

    /**
     * The batch's targets mixed by its {@link StepBatch#mix()} (unchanged when the step does not mix): {@code [B,C]}
     * targets by area ({@link #mixTargets}), dense {@code [B,C,S,S]} targets cell by cell ({@link #mixCells}).
     */
    @Override
    public Tensor apply(Tensor targets, StepBatch batch) {
        if (batch.mix() == null) return targets;
        if (targets.dim() != 4) return mixTargets(targets, batch.mix());
        long[] image = org.relabel4j.torch.Tensors.shape(batch.images());
        return mixCells(targets, batch.mix(), (int) image[2], (int) image[3]);
    }

    @Override
    public String toString() {
        return "CutMix (prob " + prob + ", beta " + beta + (offEpochs > 0 ? ", off for the last " + offEpochs + " epochs" : "") + ")";
    }

    /** One step's decision: rows [r1, r2) x columns [c1, c2) of sample i come from sample perm[i]. */
    public record Mix(double lambda, int r1, int r2, int c1, int c2, long[] perm) {}

    /** The mix of step {@code step} of {@code epoch} for a batch of n images of h x w, or null when not mixing. */
    public Mix sample(int epoch, long step, int n, int h, int w) {
        if (!enabled() || epoch >= epochs - offEpochs || n < 1) return null;
        SampleRandom r = SampleRandom.of(seed ^ 0x5bd1e995L, epoch, -1_000_000L - step);
        if (!(r.nextDouble() < prob)) return null;
        double lambda = beta(r, beta);
        double cut = Math.sqrt(1 - lambda);
        int cutH = (int) (h * cut), cutW = (int) (w * cut);
        int cy = r.nextInt(h), cx = r.nextInt(w);
        int r1 = clip(cy - cutH / 2, h), r2 = clip(cy + cutH / 2, h);
        int c1 = clip(cx - cutW / 2, w), c2 = clip(cx + cutW / 2, w);
        double adjusted = 1 - (double) (r2 - r1) * (c2 - c1) / ((double) h * w);
        int[] p = r.permutation(n);
        long[] perm = new long[n];
        for (int i = 0; i < n; ++i) perm[i] = p[i];
        return new Mix(adjusted, r1, r2, c1, c2, perm);
    }

    private static int clip(int v, int max) {
        return Math.max(0, Math.min(max, v));
    }

    /** Pastes the box of the permuted batch into images [B,C,H,W] in place. */
    public static void mixImages(Tensor images, Mix m) {
        if (m.r2() <= m.r1() || m.c2() <= m.c1()) return;
        Tensor index = StepBatch.toDeviceOf(NdArray.of(m.perm()), images);
        Tensor source = images.index_select(0, index).narrow(2, m.r1(), m.r2() - m.r1()).narrow(3, m.c1(), m.c2() - m.c1());
        images.narrow(2, m.r1(), m.r2() - m.r1()).narrow(3, m.c1(), m.c2() - m.c1()).copy_(source);
    }

    /** lambda' t + (1 - lambda') t[perm]. */
    public static Tensor mixTargets(Tensor targets, Mix m) {
        Tensor index = StepBatch.toDeviceOf(NdArray.of(m.perm()), targets);
        return targets.mul(new Scalar(m.lambda())).add(targets.index_select(0, index), new Scalar(1 - m.lambda()));
    }

    /**
     * MixToken's rule for dense targets {@code [B,C,S,S]} of images {@code h x w}: cell (y, x) covers rows [y h / S,
     * (y + 1) h / S) and columns [x w / S, (x + 1) w / S) of the image, and takes the pasted image's target of the
     * same cell by the fraction f of the cell the box covers: {@code (1 - f) t[i,:,y,x] + f t[perm[i],:,y,x]}. A cell
     * inside the box takes the other image's target, a cell outside keeps its own (with a box on the cell grid, as
     * MixToken samples it, every cell is one or the other); a cell the box's edge crosses is mixed by area. The
     * fractions sum to the box's area, so the cells mix by the same lambda as the global target.
     */
    public static Tensor mixCells(Tensor targets, Mix m, int h, int w) {
        long[] shape = org.relabel4j.torch.Tensors.shape(targets);
        int sh = (int) shape[2], sw = (int) shape[3];
        float[] f = cellFractions(m, h, w, sh, sw);
        Tensor fraction = StepBatch.toDeviceOf(NdArray.of(f, 1, 1, sh, sw), targets);
        Tensor index = StepBatch.toDeviceOf(NdArray.of(m.perm()), targets);
        return targets.mul(fraction.neg().add(new Scalar(1))).add(targets.index_select(0, index).mul(fraction));
    }

    /** The fraction of each of the sh x sw cells of an h x w image that the mix's box covers, row-major. */
    public static float[] cellFractions(Mix m, int h, int w, int sh, int sw) {
        float[] f = new float[sh * sw];
        for (int y = 0; y < sh; ++y) {
            double y0 = (double) y * h / sh, y1 = (double) (y + 1) * h / sh;
            double dy = Math.max(0, Math.min(y1, m.r2()) - Math.max(y0, m.r1()));
            for (int x = 0; x < sw; ++x) {
                double x0 = (double) x * w / sw, x1 = (double) (x + 1) * w / sw;
                double dx = Math.max(0, Math.min(x1, m.c2()) - Math.max(x0, m.c1()));
                f[y * sw + x] = (float) (dy * dx / ((y1 - y0) * (x1 - x0)));
            }
        }
        return f;
    }

    /** Beta(a, a) from two Gamma(a) draws. */
    static double beta(SampleRandom r, double a) {
        double x = gamma(r, a), y = gamma(r, a);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    /** Gamma(shape, 1): Marsaglia and Tsang, with the shape < 1 boost. */
    static double gamma(SampleRandom r, double shape) {
        if (shape < 1) return gamma(r, shape + 1) * Math.pow(r.nextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = r.gaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = r.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
        }
    }
}
