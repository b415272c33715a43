package org.relabel4j.train.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.tensor;
import static org.relabel4j.torch.TestTensors.values;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** Each target source and transform alone, against hand computations, and the pipeline's order. */
class TargetTransformsTest {
    static final int C = 4;

    @BeforeAll
    static void torch() {
        Torch.init();
    }



    /** Labels 2 and 0 (a batch of 2 over 4 classes), no loader batch, the given mix. */
    static StepBatch batch(CutMix.Mix mix) {
        Tensor labels = Tensors.fromNdArray(NdArray.of(new long[] {2, 0}));
        return new StepBatch(null, tensor(new float[2 * 3 * 4 * 4], 2, 3, 4, 4), labels, mix, C);
    }

    static final float[] POOLED = {0.1f, 0.2f, 0.3f, 0.4f, 0.25f, 0.25f, 0.25f, 0.25f};

    @Test
    void oneHotIsTheLabel() {
        try (PointerScope s = new PointerScope()) {
            assertArrayEquals(new float[] {0, 0, 1, 0, 1, 0, 0, 0}, values(new OneHotTargets().targets(batch(null))), 0f);
            assertArrayEquals(new float[] {0, 0, 1, 0, 1, 0, 0, 0},
                    OneHotTargets.of(NdArray.of(new long[] {2, 0}), C).toFloatArray(), 0f);
            var e = assertThrows(IllegalArgumentException.class, () -> OneHotTargets.of(NdArray.of(new long[] {0, 4}), C));
            assertTrue(e.getMessage().contains("sample 1") && e.getMessage().contains("4"), e.getMessage());
        }
    }

    @Test
    void gtMixBlendsTheLabelIn() {
        try (PointerScope s = new PointerScope()) {
            Tensor pooled = tensor(POOLED, 2, C);
            // 0.25 onehot + 0.75 pooled
            assertArrayEquals(new float[] {0.075f, 0.15f, 0.475f, 0.3f, 0.4375f, 0.1875f, 0.1875f, 0.1875f},
                    values(new GtMix(0.25).apply(pooled, batch(null))), 1e-6f);
            assertSame(pooled, new GtMix(0).apply(pooled, batch(null)), "0 (the paper) leaves the targets");
            assertArrayEquals(new float[] {0, 0, 1, 0, 1, 0, 0, 0}, values(new GtMix(1).apply(pooled, batch(null))), 0f);
            assertThrows(IllegalArgumentException.class, () -> new GtMix(1.5));
            assertEquals("gt_mix 0.25", new GtMix(0.25).toString());
        }
    }

    @Test
    void labelSmoothingSpreadsEps() {
        try (PointerScope s = new PointerScope()) {
            Tensor hot = new OneHotTargets().targets(batch(null));
            assertArrayEquals(new float[] {0.025f, 0.025f, 0.925f, 0.025f, 0.925f, 0.025f, 0.025f, 0.025f},
                    values(new LabelSmoothing(0.1).apply(hot, batch(null))), 1e-6f);
            assertSame(hot, new LabelSmoothing(0).apply(hot, batch(null)));
            float[] smoothed = values(new LabelSmoothing(0.2).apply(tensor(POOLED, 2, C), batch(null)));
            assertEquals(1.0, smoothed[0] + smoothed[1] + smoothed[2] + smoothed[3], 1e-6, "a distribution stays one");
            assertThrows(IllegalArgumentException.class, () -> new LabelSmoothing(1.0));
        }
    }

    @Test
    void cutMixMixesTargetsByTheBatchsMixAndPastesImages() {
        try (PointerScope s = new PointerScope()) {
            CutMix cutmix = new CutMix(1.0, 1.0, 0, 10, 3);
            Tensor t = tensor(POOLED, 2, C);
            assertSame(t, cutmix.apply(t, batch(null)), "a step without a mix leaves the targets");
            CutMix.Mix m = new CutMix.Mix(0.75, 0, 2, 0, 2, new long[] {1, 0});
            float[] mixed = values(cutmix.apply(t, batch(m)));
            for (int b = 0; b < 2; ++b)
                for (int c = 0; c < C; ++c)
                    assertEquals(0.75f * POOLED[b * C + c] + 0.25f * POOLED[(1 - b) * C + c], mixed[b * C + c], 1e-6f);
            // mixBatch: the mix of (epoch, step) is sample()'s, and its box is pasted into the images.
            float[] px = new float[2 * 1 * 8 * 8];
            for (int i = 0; i < px.length; ++i) px[i] = i / 64;
            Tensor images = tensor(px, 2, 1, 8, 8);
            CutMix.Mix got = cutmix.mixBatch(images, 4, 17);
            CutMix.Mix expected = cutmix.sample(4, 17, 2, 8, 8);
            assertNotNull(got);
            assertEquals(expected.lambda(), got.lambda());
            assertArrayEquals(expected.perm(), got.perm());
            float[] out = values(images);
            for (int b = 0; b < 2; ++b)
                for (int y = 0; y < 8; ++y)
                    for (int x = 0; x < 8; ++x) {
                        boolean in = y >= got.r1() && y < got.r2() && x >= got.c1() && x < got.c2();
                        assertEquals(in ? got.perm()[b] : b, out[b * 64 + y * 8 + x], 0f);
                    }
            assertNull(new CutMix(1.0, 1.0, 2, 10, 3).mixBatch(images, 8, 0), "off in the last off_epoch epochs");
        }
    }

    @Test
    void thePipelineAppliesItsJobsInTheDocumentedOrder() {
        try (PointerScope s = new PointerScope()) {
            TargetSource pooled = b -> tensor(POOLED, 2, C);
            CutMix cutmix = new CutMix(1.0, 1.0, 0, 10, 3);
            TargetPipeline p = TargetPipeline.of(pooled, 0.3, 0.1, cutmix);
            assertEquals(3, p.transforms().size());
            assertTrue(p.transforms().get(0) instanceof GtMix && p.transforms().get(1) instanceof LabelSmoothing
                    && p.transforms().get(2) == cutmix);
            CutMix.Mix m = new CutMix.Mix(0.6, 0, 1, 0, 1, new long[] {1, 0});
            StepBatch b = batch(m);
            // by hand: t = 0.3 onehot + 0.7 pooled; t (1 - 0.1) + 0.1 / C; 0.6 t + 0.4 t[perm]
            float[] hot = {0, 0, 1, 0, 1, 0, 0, 0};
            double[] t = new double[8];
            for (int i = 0; i < 8; ++i) t[i] = (0.3 * hot[i] + 0.7 * POOLED[i]) * 0.9 + 0.1 / C;
            float[] expected = new float[8];
            for (int i = 0; i < 8; ++i) expected[i] = (float) (0.6 * t[i] + 0.4 * t[(i + C) % 8]);
            assertArrayEquals(expected, values(p.targets(b)), 1e-6f);
            // The order matters: smoothing before gt_mix would give other targets.
            Tensor otherOrder = new GtMix(0.3).apply(new LabelSmoothing(0.1).apply(tensor(POOLED, 2, C), b), b);
            float[] wrong = values(cutmix.apply(otherOrder, b));
            assertTrue(Math.abs(wrong[0] - expected[0]) > 1e-3, "the order is not arbitrary");
            // Jobs that would change nothing are left out: the baseline's targets are its source's.
            assertEquals(List.of(), TargetPipeline.of(pooled, 0, 0, null).transforms());
            assertEquals(List.of(), TargetPipeline.of(pooled, 0, 0, new CutMix(0, 1, 0, 10, 3)).transforms());
            assertEquals("one-hot, label smoothing 0.1", TargetPipeline.of(new OneHotTargets(), 0, 0.1, null).describe());
        }
    }
}
