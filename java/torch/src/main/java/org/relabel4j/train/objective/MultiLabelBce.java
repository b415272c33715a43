package org.relabel4j.train.objective;

import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.train.targets.MultiHotTargets;
import org.relabel4j.train.targets.StepBatch;
import org.relabel4j.train.targets.TargetPipeline;

/**
 * Multi-label training: binary cross-entropy between the sigmoid of the logits and per-class targets in [0, 1],
 * averaged over classes and batch, on the targets of a {@link TargetPipeline}: the image-level multi-hot label
 * (the baseline) or ReLabel's pooled multi-label targets ({@link
 * org.relabel4j.train.targets.MultiLabelPooledTargets}), with CutMix mixing them by area. The train "top-1" it
 * reports counts the samples whose best-scoring class is in their image's label set.
 */
public final class MultiLabelBce implements Objective {
    private final TargetPipeline targets;
    private final MultiHotTargets labels;

    /** {@code labels}: the image label sets, for the train top-1. */
    public MultiLabelBce(TargetPipeline targets, MultiHotTargets labels) {
        this.targets = targets;
        this.labels = labels;
    }

    public TargetPipeline targets() {
        return targets;
    }

    @Override
    public Tensor loss(StepBatch batch, ModelOutputs outputs) {
        return Losses.binaryCrossEntropyWithLogits(outputs.logits(), targets.targets(batch));
    }

    @Override
    public long correct(StepBatch batch, ModelOutputs outputs) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor best = outputs.logits().argmax(new LongOptional(1), true);
            return (long) labels.targets(batch).gather(1, best).sum().item_double();
        }
    }

    @Override
    public String describe() {
        return "multi-label BCE on " + targets.describe();
    }
}
