package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;

/**
 * One job on a batch's targets: {@link GtMix}, {@link LabelSmoothing}, {@link CutMix}. Each returns new targets
 * (or its input, when it has nothing to do) and leaves its input as it is. {@link TargetPipeline} applies them in
 * their fixed order.
 */
@FunctionalInterface
public interface TargetTransform {
    Tensor apply(Tensor targets, StepBatch batch);
}
