package org.relabel4j.train.objective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.values;

import java.util.EnumSet;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.Models;
import org.relabel4j.model.ModuleClassifier;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.targets.OneHotTargets;
import org.relabel4j.train.targets.StepBatch;
import org.relabel4j.train.targets.TargetPipeline;

/** The objectives alone: their losses against the functional forms, the outputs they ask for, the forward pass. */
class ObjectivesTest {
    @BeforeAll
    static void torch() {
        Torch.init();
    }

    static ModuleClassifier cnn(long seed) {
        return Models.create("small_cnn", 3, ModelOptions.defaults().withWidth(4).withStages(2).withSeed(seed));
    }

    static StepBatch batch(Tensor images, long... labels) {
        return new StepBatch(null, images, Tensors.fromNdArray(NdArray.of(labels)), null, 3);
    }


    @Test
    void softTargetCrossEntropyOnThePipelinesTargets() {
        try (PointerScope s = new PointerScope(); ModuleClassifier model = cnn(1)) {
            StepBatch b = batch(torch.randn(4, 3, 16, 16), 0, 2, 1, 2);
            TargetPipeline targets = TargetPipeline.of(new OneHotTargets(), 0, 0.2, null);
            SoftTargetObjective objective = new SoftTargetObjective(targets);
            assertEquals(EnumSet.of(ModelOutput.LOGITS), objective.outputs());
            ModelOutputs out = ModelOutputs.forward(model, b.images(), objective.outputs(), Autocast.OFF);
            double expected = Losses.softTargetCrossEntropy(out.logits(), targets.targets(b)).item_double();
            assertEquals(expected, objective.loss(b, out).item_double(), 0);
            assertEquals("one-hot, label smoothing 0.2", objective.describe());
        }
    }

    @Test
    void distillationTrainsOnTheTeachersSoftenedOutputs() {
        try (PointerScope s = new PointerScope(); ModuleClassifier student = cnn(1)) {
            ModuleClassifier teacher = cnn(2);
            teacher.train(false);
            Tensor images = torch.randn(3, 3, 16, 16);
            StepBatch b = batch(images, 0, 1, 2);
            Distillation kd = new Distillation(teacher, 2.0, Autocast.OFF);
            ModelOutputs out = ModelOutputs.forward(student, images, kd.outputs(), Autocast.OFF);
            float[] t = values(teacher.forward(images)), z = values(out.logits());
            double ref = 0;  // T^2 * mean_b -sum_c softmax(t/T)_c log softmax(z/T)_c
            for (int i = 0; i < 3; ++i) {
                double st = 0, sz = 0;
                for (int c = 0; c < 3; ++c) {
                    st += Math.exp(t[3 * i + c] / 2.0);
                    sz += Math.exp(z[3 * i + c] / 2.0);
                }
                for (int c = 0; c < 3; ++c) ref -= Math.exp(t[3 * i + c] / 2.0) / st * (z[3 * i + c] / 2.0 - Math.log(sz));
            }
            assertEquals(4 * ref / 3, kd.loss(b, out).item_double(), 1e-5);
            float[] p = values(kd.targets(b));
            assertEquals(1.0, p[0] + p[1] + p[2], 1e-6);
            assertTrue(kd.describe().startsWith("knowledge distillation"), kd.describe());
            kd.close();  // closes the teacher it owns
            assertThrows(IllegalArgumentException.class, () -> new Distillation(cnn(3), 0, Autocast.OFF));
        }
    }

    @Test
    void theDenseOutputIsTheMapBeforePoolingAndTrainsTheBackbone() {
        try (PointerScope s = new PointerScope(); ModuleClassifier model = cnn(4)) {
            model.train(false);
            Tensor images = torch.randn(2, 3, 16, 16);
            ModelOutputs plain = ModelOutputs.forward(model, images, EnumSet.of(ModelOutput.LOGITS), Autocast.OFF);
            assertNull(plain.dense());
            assertArrayEquals(values(model.forward(images)), values(plain.logits()), 0f);
            ModelOutputs dense = ModelOutputs.forward(model, images, Set.of(ModelOutput.LOGITS, ModelOutput.DENSE),
                    Autocast.OFF);
            long[] shape = Tensors.shape(dense.dense());
            assertEquals(4, shape.length);
            assertEquals(2, shape[0]);
            assertEquals(3, shape[1]);
            assertArrayEquals(values(plain.logits()), values(dense.logits()), 1e-5f,
                    "the mean of the dense map is the pooled forward pass (linear classifier)");
            dense.dense().log_softmax(1).mean().neg().backward();
            Tensor g = model.parameters().get(0).grad();
            assertTrue(g.defined() && g.abs().sum().item_double() > 0, "a loss on the dense map reaches the stem");
        }
    }

    @Test
    void correctCountsTop1AndAutocastRunsInTheAskedType() {
        try (PointerScope s = new PointerScope()) {
            Tensor logits = Tensors.fromNdArray(NdArray.of(new float[] {3, 1, 0, 0, 2, 5, 1, 0, 0}).reshape(3, 3));
            Objective any = new SoftTargetObjective(TargetPipeline.of(new OneHotTargets(), 0, 0, null));
            StepBatch b = batch(torch.zeros(3, 3, 4, 4), 0, 2, 1);
            assertEquals(2, any.correct(b, new ModelOutputs(logits, null)), "argmax 0, 2, 0 against labels 0, 2, 1");
            try (ModuleClassifier model = cnn(5)) {
                Tensor bf = Autocast.of("bf16").run(b.images().device(), () -> model.forward(b.images()));
                assertEquals(ScalarType.BFloat16.toString(), bf.scalar_type().toString());
                assertEquals(ScalarType.Float.toString(), Autocast.of("off").run(b.images().device(),
                        () -> model.forward(b.images())).scalar_type().toString());
            }
            assertThrows(IllegalArgumentException.class, () -> Autocast.of("fp8"));
        }
    }
}
