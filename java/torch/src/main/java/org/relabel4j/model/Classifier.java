package org.relabel4j.model;

import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * An image classifier the trainer, the evaluator and the annotator drive: a LibTorch module (built-in ResNets and
 * small CNNs, or a TorchScript module) behind one small surface. Inputs are float32 images {@code [B,3,H,W]},
 * normalized, on the model's device.
 */
public interface Classifier extends AutoCloseable {
    /** A short name, e.g. "resnet50". */
    String name();

    /** Number of classes C. */
    int classes();

    /** Logits {@code [B,C]}. */
    Tensor forward(Tensor images);

    /**
     * Dense logits {@code [B,C,h,w]}: the network run fully convolutionally (global pooling removed, the classifier
     * applied as a 1x1 convolution), as ReLabel's annotator needs. Models that cannot say so throw
     * UnsupportedOperationException with the reason.
     */
    Tensor forwardDense(Tensor images);

    /**
     * The logits and the dense logits of one pass through the network (for dense supervision, which trains both).
     * The default runs {@link #forwardDense} and takes the logits as the mean over its positions (equal to pooling
     * then a linear classifier); the built-in models pool their features for the logits exactly as {@link #forward}
     * does and apply the head as a 1x1 convolution for the dense logits, and TorchScript students that return
     * {@code (logits, dense)} give both as they are.
     */
    default LogitsAndDense forwardWithDense(Tensor images) {
        Tensor dense = forwardDense(images);
        return new LogitsAndDense(dense.mean(new long[] {2, 3}), dense);
    }

    /** Train mode (batch-norm statistics updated, dropout on) or eval mode. */
    void train(boolean on);

    /** The trainable parameters, in a stable order. */
    TensorVector parameters();

    /** Moves parameters and buffers to {@code device}. */
    void to(Device device);

    /**
     * The parameters and buffers by name, in state-dict order: the built-in models use torchvision's names
     * ({@code conv1.weight}, {@code bn1.running_mean}, {@code layer1.0.downsample.1.num_batches_tracked},
     * {@code fc.bias}, ...). The values are the live tensors (new handles on the module's own storage, not copies):
     * {@link StateDicts} copies into and out of them. Closing a handle does not free the tensor. Models without
     * names throw UnsupportedOperationException.
     */
    default Map<String, Tensor> stateDict() {
        throw new UnsupportedOperationException(name() + " does not expose its tensors by name");
    }

    /**
     * The trainable parameters by name (the entries of {@link #stateDict()} that {@link #parameters()} holds), e.g.
     * to exempt batch-norm and bias parameters from weight decay.
     */
    default Map<String, Tensor> namedParameters() {
        throw new UnsupportedOperationException(name() + " does not expose its parameters by name");
    }

    @Override
    default void close() {}
}
