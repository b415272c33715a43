package org.relabel4j.train.objective;

import java.util.EnumSet;
import java.util.Set;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.train.targets.StepBatch;

/**
 * What a training step optimizes: from a batch and the student's outputs, the loss. A run has one objective,
 * chosen from its configuration; the loop knows only this interface.
 *
 * <ul>
 *   <li>{@link #outputs()}: what the objective reads from the student ({@link ModelOutput#LOGITS}, the pooled
 *       logits; {@link ModelOutput#DENSE}, the map before pooling). The loop runs the forward pass for those.
 *   <li>{@link #loss}: the targets (its own business: a {@link org.relabel4j.train.targets.TargetPipeline}, a
 *       teacher's outputs, ...) and the loss against them, a scalar with a gradient.
 *   <li>{@link #correct}: the train top-1 the metrics report.
 * </ul>
 *
 * <p>Built in: {@link SoftTargetObjective} (soft-target cross-entropy on one-hot or ReLabel targets, with gt_mix,
 * label smoothing and CutMix) and {@link Distillation} (a teacher's softened outputs). A new objective (e.g.
 * multi-label BCE on pooled multi-label targets, or cross-entropy on dense S x S targets of the pre-pool map)
 * implements this interface, composes the target parts it needs, and is chosen where the trainer turns its plan
 * into parts ({@code TrainSetup}), together with what the epochs are validated by ({@code
 * org.relabel4j.train.Validation}: top-1 today, mAP for multi-label); the loop does not change.
 *
 * <p>Every tensor an objective makes in a step belongs to the step's {@code PointerScope}. An objective that owns
 * native resources (a teacher) releases them in {@link #close()}.
 */
public interface Objective extends AutoCloseable {
    /** The student outputs the loss reads. */
    default Set<ModelOutput> outputs() {
        return EnumSet.of(ModelOutput.LOGITS);
    }

    /** The step's loss: a float32 scalar on the batch's device, differentiable in {@code outputs}. */
    Tensor loss(StepBatch batch, ModelOutputs outputs);

    /** How many samples of the batch the logits classify as their label (the step's train top-1). */
    default long correct(StepBatch batch, ModelOutputs outputs) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return outputs.logits().argmax(new LongOptional(1), false).eq(batch.labels()).sum().item_long();
        }
    }

    /** A short description for the run's log, e.g. "one-hot" or "knowledge distillation (T 2.0)". */
    String describe();

    @Override
    default void close() {}
}
