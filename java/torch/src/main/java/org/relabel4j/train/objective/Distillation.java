package org.relabel4j.train.objective;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.model.Classifier;
import org.relabel4j.train.targets.StepBatch;

/**
 * Knowledge distillation (the paper's baseline): the targets are {@code softmax(teacher(x) / T)}, the teacher run
 * online, without gradients, on the same augmented (and CutMix-pasted) images as the student, under the same
 * autocast; the loss is {@code T^2 CE(targets, student / T)} ({@link Losses#distillation}). The teacher's outputs
 * are the whole target: label smoothing, gt_mix and ReLabel targets do not combine with it. Owns the teacher.
 */
public final class Distillation implements Objective {
    private final Classifier teacher;
    private final double temperature;
    private final Autocast autocast;

    /** {@code teacher}: on the training device, in eval mode. */
    public Distillation(Classifier teacher, double temperature, Autocast autocast) {
        if (!(temperature > 0)) throw new IllegalArgumentException("the distillation temperature must be > 0, got " + temperature);
        this.teacher = teacher;
        this.temperature = temperature;
        this.autocast = autocast;
    }

    /** softmax(teacher(images) / T), float32, without gradients. */
    public Tensor targets(StepBatch batch) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor t = autocast.run(batch.images().device(), () -> teacher.forward(batch.images()));
            return t.to(ScalarType.Float).div(new Scalar(temperature)).softmax(1);
        }
    }

    @Override
    public Tensor loss(StepBatch batch, ModelOutputs outputs) {
        return Losses.distillation(outputs.logits(), targets(batch), temperature);
    }

    @Override
    public String describe() {
        return "knowledge distillation from " + teacher.name() + " (T " + temperature + ")";
    }

    @Override
    public void close() {
        teacher.close();
    }
}
