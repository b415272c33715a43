package org.relabel4j.train.objective;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** The losses of the built-in objectives, as functions of tensors. */
public final class Losses {
    private Losses() {}

    /**
     * Soft-target cross-entropy: mean over the batch of -sum_c targets[b,c] * log_softmax(logits)[b,c]. For dense
     * logits and targets {@code [B,C,h,w]} the mean runs over the batch and the positions.
     */
    public static Tensor softTargetCrossEntropy(Tensor logits, Tensor targets) {
        return logits.log_softmax(1).mul(targets).sum(1).mean().neg();
    }

    /**
     * Distillation loss at temperature T: the soft-target cross-entropy between softmax(teacher / T) and the
     * student's logits / T, times T^2 (Hinton et al.; equal to T^2 KL up to a constant of the teacher).
     */
    public static Tensor distillation(Tensor logits, Tensor teacherProbs, double temperature) {
        return softTargetCrossEntropy(logits.div(new Scalar(temperature)), teacherProbs).mul(new Scalar(temperature * temperature));
    }

    /**
     * Binary cross-entropy with logits, mean over batch and classes: {@code max(z, 0) - z t + log(1 + exp(-|z|))}
     * (the numerically stable form of {@code -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z))}).
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets) {
        return logits.clamp_min(new Scalar(0)).sub(logits.mul(targets)).add(logits.abs().neg().exp().log1p()).mean();
    }
}
