package org.relabel4j.train.objective;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** The losses of the built-in objectives, as functions of tensors. */
public final class Losses {
    private Losses() {}

    /** Soft-target cross-entropy: mean over the batch of -sum_c targets[b,c] * log_softmax(logits)[b,c]. */
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
}
