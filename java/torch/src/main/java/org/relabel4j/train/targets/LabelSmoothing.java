package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * {@code optim.label_smoothing}: the released code's smooth_target, {@code t (1 - eps) + eps / C}, on whatever
 * targets come in (one-hot or soft; a distribution stays one). eps 0 leaves them as they are.
 */
public record LabelSmoothing(double eps) implements TargetTransform {
    public LabelSmoothing {
        if (!(eps >= 0 && eps < 1)) throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + eps);
    }

    @Override
    public Tensor apply(Tensor targets, StepBatch batch) {
        return smooth(targets, eps, batch.classes());
    }

    @Override
    public String toString() {
        return "label smoothing " + eps;
    }

    /** t (1 - eps) + eps / classes ({@code targets} itself when eps is 0). */
    public static Tensor smooth(Tensor targets, double eps, int classes) {
        if (eps == 0) return targets;
        return targets.mul(new Scalar(1 - eps)).add(new Scalar(eps / classes));
    }
}
