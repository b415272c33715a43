package org.relabel4j.train.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** Output strides: the features and dense maps have torchvision's spatial sizes (every stride applied). */
class FeatureShapesTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    @Test
    void resNetsDownsampleBy32() {
        for (String arch : new String[] {"resnet18", "resnet50"}) {
            try (ModuleClassifier m = Models.create(arch, 10); PointerScope s = new PointerScope()) {
                m.train(false);
                Tensor x = torch.randn(2, 3, 224, 224);
                long f = arch.equals("resnet18") ? 512 : 2048;
                assertArrayEquals(new long[] {2, f, 7, 7}, Tensors.shape(m.features(x)), arch);
                assertArrayEquals(new long[] {2, 10, 7, 7}, Tensors.shape(m.forwardDense(x)), arch);
                assertArrayEquals(new long[] {2, 10}, Tensors.shape(m.forward(x)), arch);
                assertArrayEquals(new long[] {1, 10, 2, 3}, Tensors.shape(m.forwardDense(torch.randn(1, 3, 64, 96))), arch);
            }
        }
    }

    @Test
    void smallCnnDownsamplesBy2PerStage() {
        try (ModuleClassifier m = Models.create("small_cnn", 5); PointerScope s = new PointerScope()) {
            assertArrayEquals(new long[] {3, 128, 4, 4}, Tensors.shape(m.features(torch.randn(3, 3, 32, 32))));
            assertArrayEquals(new long[] {3, 5, 6, 6}, Tensors.shape(m.forwardDense(torch.randn(3, 3, 48, 48))));
        }
        try (ModuleClassifier m = Models.create("small_cnn", 5, ModelOptions.defaults().withWidth(8).withStages(2));
             PointerScope s = new PointerScope()) {
            assertArrayEquals(new long[] {1, 32, 6, 6}, Tensors.shape(m.features(torch.randn(1, 3, 24, 24))));
        }
    }
}
