package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;

/**
 * Where a batch's targets start: float32 {@code [B,C]} rows on the batch's device (or dense {@code [B,C,S,S]}
 * targets for dense supervision: {@link LoaderDenseTargets}, {@link ResidentPooledTargets} with S > 1), before any
 * {@link TargetTransform}. The built-in sources: {@link OneHotTargets} (the label), {@link LoaderPooledTargets} (ReLabel's
 * LabelPooling targets pooled by the loader's workers on the CPU) and {@link ResidentPooledTargets} (pooled on the
 * device from the label-map store resident there).
 */
@FunctionalInterface
public interface TargetSource {
    Tensor targets(StepBatch batch);
}
