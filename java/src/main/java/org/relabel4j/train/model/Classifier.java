package org.relabel4j.train.model;

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

    /** Train mode (batch-norm statistics updated, dropout on) or eval mode. */
    void train(boolean on);

    /** The trainable parameters, in a stable order. */
    TensorVector parameters();

    /** Moves parameters and buffers to {@code device}. */
    void to(Device device);

    @Override
    default void close() {}
}
