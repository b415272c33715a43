package org.relabel4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.torch.Torch;

/**
 * A training step of every built-in architecture runs (forward and backward in train mode). On a VM that hides the
 * CPU's cache topology, oneDNN's brgemm 1x1-convolution backward once killed the JVM with SIGFPE (ResNet-50's
 * bottlenecks); {@link Torch#oneDnnIsaCap()} prevents that.
 */
class BackwardTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    @Test
    void everyArchitectureTrainsAStep() {
        for (String arch : new String[] {"resnet18", "resnet50", "small_cnn"}) {
            try (ModuleClassifier m = Models.create(arch, 10); PointerScope s = new PointerScope()) {
                m.train(true);
                Tensor y = m.forward(torch.randn(2, 3, 64, 64));
                y.log_softmax(1).mean().neg().backward();
                Tensor g = m.parameters().get(0).grad();
                assertTrue(g.defined() && g.abs().sum().item_double() > 0, arch + ": the first layer gets a gradient");
            }
        }
    }
}
