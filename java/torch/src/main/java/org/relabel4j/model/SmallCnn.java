package org.relabel4j.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A small all-convolutional network for tests and the demo, that trains in seconds on a CPU on 24-48 px images: a
 * 3x3 conv-BN-ReLU stem of {@code width} channels, then {@code stages} 3x3 stride-2 conv-BN-ReLU stages doubling the
 * channels, global average pooling and a linear head {@code fc} (fully convolutional for {@link #forwardDense}:
 * output stride {@code 2^stages}). Names: {@code conv1}, {@code bn1}, ..., {@code conv<stages+1>},
 * {@code bn<stages+1>}, {@code fc}. Init as {@link ResNet}. With the defaults (width 16, 3 stages) it has about
 * 100 k parameters. Without batch norm ({@link ModelOptions#batchNorm()} false) the stages are conv-ReLU and the
 * state dict has no {@code bn*} entries.
 */
public final class SmallCnn extends ModuleClassifier {
    private final List<Conv2dImpl> convs = new ArrayList<>();
    private final List<BatchNorm2dImpl> norms = new ArrayList<>();
    private final LinearImpl fc;
    private final long featureChannels;

    public SmallCnn(int classes, ModelOptions options) {
        super("small_cnn", "SmallCnn", classes, options);
        long in = 3, out = this.options.width();
        for (int i = 0; i <= this.options.stages(); ++i) {
            if (i > 0) out = in * 2;
            convs.add(conv(root(), "conv" + (i + 1), in, out, 3, i == 0 ? 1 : 2, 1));
            if (this.options.batchNorm()) norms.add(batchNorm(root(), "bn" + (i + 1), out));
            in = out;
        }
        featureChannels = in;
        fc = linear(root(), "fc", in, classes);
    }

    public SmallCnn(int classes) {
        this(classes, null);
    }

    /** Channels F of {@link #features}: {@code width * 2^stages}. */
    public long featureChannels() {
        return featureChannels;
    }

    @Override
    protected Tensor featuresOf(Tensor images) {
        Tensor x = images;
        for (int i = 0; i < convs.size(); ++i) {
            x = convs.get(i).forward(x);
            x = torch.relu_(norms.isEmpty() ? x : norms.get(i).forward(x));
        }
        return x;
    }

    @Override
    protected LinearImpl head() {
        return fc;
    }
}
