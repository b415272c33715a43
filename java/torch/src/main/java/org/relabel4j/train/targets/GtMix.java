package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * {@code data.relabel.gt_mix}: the ReLabel target blended with the image label, {@code alpha * onehot(y) + (1 -
 * alpha) * t}. alpha 0 (the paper) leaves the targets as they are; 1 trains on the label alone. Dense targets
 * {@code [B,C,S,S]} get the label blended into every cell.
 */
public record GtMix(double alpha) implements TargetTransform {
    public GtMix {
        if (!(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("gt_mix must be in [0, 1], got " + alpha);
    }

    @Override
    public Tensor apply(Tensor targets, StepBatch batch) {
        if (alpha == 0) return targets;
        Tensor oneHot = OneHotTargets.of(batch.labels(), batch.classes());
        if (targets.dim() == 4) oneHot = oneHot.view(oneHot.size(0), oneHot.size(1), 1, 1);  // every cell of a dense target
        return mix(targets, oneHot, alpha);
    }

    @Override
    public String toString() {
        return "gt_mix " + alpha;
    }

    /** alpha * oneHot + (1 - alpha) * pooled ({@code pooled} itself when alpha is 0). */
    public static Tensor mix(Tensor pooled, Tensor oneHot, double alpha) {
        if (alpha == 0) return pooled;
        return oneHot.mul(new Scalar(alpha)).add(pooled, new Scalar(1 - alpha));
    }
}
