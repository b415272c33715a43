package org.relabel4j.train.objective;

import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.LogitsAndDense;

/**
 * The student's outputs of one step, float32: {@code logits} {@code [B,C]}, and {@code dense} {@code [B,C,h,w]}
 * when the objective asked for {@link ModelOutput#DENSE} (else null).
 */
public record ModelOutputs(Tensor logits, Tensor dense) {
    /** Runs {@code model} on {@code images} (under {@code autocast}) for the outputs {@code wanted}. */
    public static ModelOutputs forward(Classifier model, Tensor images, Set<ModelOutput> wanted, Autocast autocast) {
        if (wanted.contains(ModelOutput.DENSE)) {
            LogitsAndDense[] both = new LogitsAndDense[1];
            autocast.run(images.device(), () -> (both[0] = model.forwardWithDense(images)).logits());
            return new ModelOutputs(both[0].logits().to(ScalarType.Float), both[0].dense().to(ScalarType.Float));
        }
        return new ModelOutputs(autocast.run(images.device(), () -> model.forward(images)).to(ScalarType.Float), null);
    }
}
