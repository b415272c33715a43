package org.relabel4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** The benchmark references compute the library's job (so their timings compare like with like). */
class ReferencesTest {
    private static final int B = 48;

    private static float[] library(Inputs.Maps m) {
        LabelPooling p = LabelPooling.builder(Inputs.CLASSES).softmax(true).build();
        return p.apply(m.scores(DType.FLOAT32), m.ids(DType.INT32), m.boxesArray(), null).toFloatArray();
    }

    /** Max |a - b| relative to the largest |a|. */
    private static double relativeError(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        double max = 0, err = 0;
        for (int i = 0; i < want.length; ++i) {
            max = Math.max(max, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        return err / max;
    }

    @Test
    void plainJavaMatchesTheLibrary() {
        Inputs.Maps m = Inputs.maps(B, 11);
        float[] got = new float[B * Inputs.CLASSES];
        new PlainJavaLabelPooling(Inputs.CLASSES, Inputs.K, Inputs.SIDE, Inputs.SIDE).apply(m.scores(), m.ids(),
                m.boxes(), B, got);
        double e = relativeError(library(m), got);
        System.out.printf("plain Java reference vs LabelPooling: max error %.2e relative%n", e);
        assertTrue(e < 1e-6, "plain Java reference differs from LabelPooling by " + e + " (relative)");
    }

    @Test
    void libTorchMatchesTheLibrary() {
        Torch.init();
        Inputs.Maps m = Inputs.maps(B, 12);
        float[] got;
        try (PointerScope scope = new PointerScope()) {
            Tensor out = new LibTorchLabelPooling(Inputs.CLASSES, Inputs.SIDE, Inputs.SIDE).apply(
                    Tensors.fromNdArray(m.scores(DType.FLOAT32)), Tensors.fromNdArray(m.ids(DType.INT32)), m.boxes());
            NdArray a = Tensors.toNdArray(out);
            assertArrayEquals(new long[] {B, Inputs.CLASSES}, a.shape());
            got = a.toFloatArray();
        }
        double e = relativeError(library(m), got);
        System.out.printf("LibTorch reference vs LabelPooling: max error %.2e relative%n", e);
        assertTrue(e < 1e-5, "LibTorch reference differs from LabelPooling by " + e + " (relative)");
    }

    @Test
    void inputsFollowTheAnchorsDistribution() {
        Inputs.Maps m = Inputs.maps(64, 13);
        int hw = Inputs.SIDE * Inputs.SIDE;
        for (int b = 0; b < 64; ++b) {
            float x1 = m.boxes()[4 * b], y1 = m.boxes()[4 * b + 1], x2 = m.boxes()[4 * b + 2], y2 = m.boxes()[4 * b + 3];
            assertTrue(x1 >= 0 && x1 < .5 && y1 >= 0 && y1 < .5 && x2 - x1 >= .2 && x2 - x1 < .7 && y2 - y1 >= .2
                    && y2 - y1 < .7, "box " + b);
            for (int l = 0; l < hw; ++l) {
                for (int j = 0; j < Inputs.K; ++j) {
                    int at = (b * Inputs.K + j) * hw + l;
                    if (j > 0) assertTrue(m.scores()[at - hw] >= m.scores()[at], "scores descending per cell");
                    for (int i = 0; i < j; ++i) assertTrue(m.ids()[at] != m.ids()[(b * Inputs.K + i) * hw + l], "distinct ids");
                }
            }
        }
        // Same seed, same inputs: ours and the references time the same values.
        assertArrayEquals(m.scores(), Inputs.maps(64, 13).scores());
        assertArrayEquals(m.boxes(), Inputs.maps(64, 13).boxes());
    }
}
