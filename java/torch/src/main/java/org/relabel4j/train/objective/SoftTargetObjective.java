package org.relabel4j.train.objective;

import org.bytedeco.pytorch.Tensor;
import org.relabel4j.train.targets.StepBatch;
import org.relabel4j.train.targets.TargetPipeline;

/**
 * Soft-target cross-entropy, {@code -sum_c t_c log softmax(z)_c} averaged over the batch, on the targets of a
 * {@link TargetPipeline}: one-hot labels (the baseline), label smoothing, ReLabel's LabelPooling targets with
 * gt_mix, and CutMix on any of them.
 */
public final class SoftTargetObjective implements Objective {
    private final TargetPipeline targets;

    public SoftTargetObjective(TargetPipeline targets) {
        this.targets = targets;
    }

    public TargetPipeline targets() {
        return targets;
    }

    @Override
    public Tensor loss(StepBatch batch, ModelOutputs outputs) {
        return Losses.softTargetCrossEntropy(outputs.logits(), targets.targets(batch));
    }

    @Override
    public String describe() {
        return targets.describe();
    }
}
