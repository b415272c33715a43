package org.relabel4j.train;

import java.util.List;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Dynamic loss scaling for fp16 training, as torch.amp.GradScaler: the loss is multiplied by the scale before the
 * backward pass; the gradients are divided by it before clipping and the update; a step whose gradients hold an
 * inf or NaN is skipped and the scale halved; after {@code growthInterval} good steps in a row the scale doubles.
 */
public final class GradScaler {
    private final boolean enabled;
    private final int growthInterval;
    private double scale;
    private int goodSteps;
    private long skipped;

    public GradScaler(boolean enabled, double initialScale, int growthInterval) {
        if (!(initialScale > 0)) throw new IllegalArgumentException("initial loss scale must be > 0, got " + initialScale);
        if (growthInterval < 1) throw new IllegalArgumentException("growth interval must be >= 1, got " + growthInterval);
        this.enabled = enabled;
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    public boolean enabled() {
        return enabled;
    }

    public double scale() {
        return enabled ? scale : 1;
    }

    /** Steps skipped for non-finite gradients so far. */
    public long skipped() {
        return skipped;
    }

    /** The loss to call backward on. */
    public Tensor scale(Tensor loss) {
        return enabled ? loss.mul(new Scalar(scale)) : loss;
    }

    /**
     * Divides the gradients by the scale and says whether they are all finite (one device synchronization); when
     * not, the caller skips the update. Updates the scale either way.
     */
    public boolean unscale(List<Tensor> gradients) {
        if (!enabled) return true;
        boolean finite;
        try (AutoGradMode noGrad = new AutoGradMode(false)) {
            TensorVector sums = new TensorVector();
            for (Tensor g : gradients) {
                g.mul_(new Scalar(1 / scale));
                sums.push_back(g.abs().sum().to(org.bytedeco.pytorch.global.torch.ScalarType.Float));
            }
            finite = sums.size() == 0 || org.bytedeco.pytorch.global.torch.stack(sums).sum().isfinite().item_bool();
        }
        if (!finite) {
            scale *= 0.5;
            goodSteps = 0;
            ++skipped;
        } else if (++goodSteps >= growthInterval) {
            scale *= 2;
            goodSteps = 0;
        }
        return finite;
    }

    /** The state for a checkpoint. */
    public double[] state() {
        return new double[] {scale, goodSteps, skipped};
    }

    public void restore(double scale, int goodSteps, long skipped) {
        this.scale = scale;
        this.goodSteps = goodSteps;
        this.skipped = skipped;
    }
}
