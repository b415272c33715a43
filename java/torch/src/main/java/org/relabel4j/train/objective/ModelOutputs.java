package org.relabel4j.train.objective;

import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.model.Classifier;

/**
 * The student's outputs of one step, float32: {@code logits} {@code [B,C]}, and {@code dense} {@code [B,C,h,w]}
 * when the objective asked for {@link ModelOutput#DENSE} (else null).
 */
public record ModelOutputs(Tensor logits, Tensor dense) {
    /** Runs {@code model} on {@code images} (under {@code autocast}) for the outputs {@code wanted}. */
    public static ModelOutputs forward(Classifier model, Tensor images, Set<ModelOutput> wanted, Autocast autocast) {
        if (wanted.contains(ModelOutput.DENSE)) {
            Tensor dense = autocast.run(images.device(), () -> model.forwardDense(images)).to(ScalarType.Float);
            return new ModelOutputs(dense.mean(new long[] {2, 3}), dense);
        }
        return new ModelOutputs(autocast.run(images.device(), () -> model.forward(images)).to(ScalarType.Float), null);
    }
}
