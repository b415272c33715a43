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

    /** The batch's targets mixed by its {@link StepBatch#mix()} (unchanged when the step does not mix). */
    @Override
    public Tensor apply(Tensor targets, StepBatch batch) {
        return batch.mix() == null ? targets : mixTargets(targets, batch.mix());
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
