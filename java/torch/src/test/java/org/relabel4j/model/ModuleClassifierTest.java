package org.relabel4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** The built-in models' output strides and the ownership of what their forward methods return. */
class ModuleClassifierTest {
    @BeforeAll
    static void loadTorch() {
        Torch.init();
    }

    /** Strided convolutions stride: a 224 x 160 input gives ResNet features of 7 x 5 (output stride 32). */
    @Test
    void resnetOutputStrideIs32() {
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create("resnet18", 6);
             NoGradGuard g = new NoGradGuard()) {
            m.train(false);
            Tensor x = Tensors.fromNdArray(ModelTesting.image(1, 224, 160));
            assertArrayEquals(new long[] {1, 512, 7, 5}, Tensors.shape(m.features(x)), "features");
            assertArrayEquals(new long[] {1, 6, 7, 5}, Tensors.shape(m.forwardDense(x)), "dense logits");
            assertArrayEquals(new long[] {1, 6}, Tensors.shape(m.forward(x)), "logits");
            assertArrayEquals(new long[] {64, 3, 7, 7}, Tensors.shape(m.stateDict().get("conv1.weight")));
        }
    }

    /** SmallCnn: width 8, 2 stride-2 stages: a 24 x 16 input gives 6 x 4 features of 32 channels. */
    @Test
    void smallCnnOutputStride() {
        try (PointerScope scope = new PointerScope();
             SmallCnn m = new SmallCnn(3, ModelOptions.defaults().withWidth(8).withStages(2));
             NoGradGuard g = new NoGradGuard()) {
            Tensor x = Tensors.fromNdArray(ModelTesting.image(2, 24, 16));
            assertArrayEquals(new long[] {2, 32, 6, 4}, Tensors.shape(m.features(x)));
            assertArrayEquals(new long[] {2, 3, 6, 4}, Tensors.shape(m.forwardDense(x)));
        }
    }

    /**
     * What features(), forward() and forwardDense() return stays valid after they return (their intermediates are
     * freed with their own scope), and they agree: pooled features through fc are the logits, and so is the
     * spatial mean of the dense logits.
     */
    @Test
    void returnedTensorsOutliveTheCallAndAgree() {
        for (String arch : new String[] {"small_cnn", "resnet18"}) {
            try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create(arch, 5);
                 NoGradGuard g = new NoGradGuard()) {
                m.train(false);
                Tensor x = Tensors.fromNdArray(ModelTesting.image(2, 64, 48));
                Tensor features = m.features(x);
                Tensor logits = m.forward(x);
                Tensor dense = m.forwardDense(x);
                for (int i = 0; i < 3; ++i) m.forward(x);  // reuse of freed memory would show in features
                Tensor w = m.stateDict().get("fc.weight"), b = m.stateDict().get("fc.bias");
                Tensor pooled = features.mean(new long[] {2, 3}, false, new ScalarTypeOptional());
                NdArray viaFeatures = Tensors.toNdArray(torch.linear(pooled, w, new TensorOptional(b)));
                NdArray viaDense = Tensors.toNdArray(dense.mean(new long[] {2, 3}, false,
                        new ScalarTypeOptional()));
                NdArray want = Tensors.toNdArray(logits);
                assertEquals(2 * 5, want.numel());
                ModelTesting.assertClose(viaFeatures, want, 1e-5, arch + ": fc(pool(features())) vs forward()");
                ModelTesting.assertClose(viaDense, want, 1e-5, arch + ": mean(forwardDense()) vs forward()");
            }
        }
    }
}
