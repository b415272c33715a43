package org.relabel4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Top-1, top-5 and per-class accuracy on hand-built predictions; the host top-k's order. */
class MetricsTest {
    /** Predictions over samples named s0, s1, ... with these labels (file names s0.JPEG, ...). */
    static Predictions.Builder samples(int k, int... labels) {
        List<String> keys = new ArrayList<>(), names = new ArrayList<>();
        for (int i = 0; i < labels.length; ++i) {
            keys.add("c" + labels[i] + "/s" + i);
            names.add("s" + i + ".JPEG");
        }
        return Predictions.builder(keys, names, labels, k);
    }

    @Test
    void topOneTopFiveAndPerClass() {
        // labels:        0  0  0  1  1  2  3
        Predictions p = samples(5, 0, 0, 0, 1, 1, 2, 3)
                .set(0, 0, 1, 2, 3, 4)     // top-1 right
                .set(1, 1, 0, 2, 3, 4)     // top-5 right only
                .set(2, 4, 5, 6, 7, 8)     // wrong
                .set(3, 1, 2, 3, 4, 5)     // top-1 right
                .set(4, 9, 8, 7, 6, 1)     // top-5 right (5th)
                .set(5, 2, 0, 1, 3, 4)     // top-1 right
                .skip(6, "unreadable")     // class 3: no evaluated sample
                .build();
        assertEquals(7, p.size());
        assertEquals(6, p.evaluatedCount());
        assertEquals(List.of("c3/s6: unreadable"), p.skipped());
        Metrics.Accuracy a = Metrics.accuracy(p);
        assertEquals(6, a.n());
        assertEquals(3, a.top1Correct());
        assertEquals(5, a.top5Correct());
        assertEquals(0.5, a.top1());
        assertEquals(5.0 / 6, a.top5());

        Metrics.PerClass pc = Metrics.perClass(p, 5);
        assertArrayEquals(new int[] {3, 2, 1, 0, 0}, pc.n());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0}, pc.top1Correct());
        assertArrayEquals(new int[] {2, 2, 1, 0, 0}, pc.top5Correct());
        assertEquals(1.0 / 3, pc.top1(0));
        assertEquals(0.5, pc.top1(1));
        assertEquals(1.0, pc.top1(2));
        assertTrue(Double.isNaN(pc.top1(3)));  // no evaluated sample: not a 0
        assertEquals(3, pc.present());
        assertEquals((1.0 / 3 + 0.5 + 1.0) / 3, pc.meanTop1(), 1e-15);
        assertEquals((2.0 / 3 + 1.0 + 1.0) / 3, pc.meanTop5(), 1e-15);
    }

    @Test
    void topFiveUsesOnlyTheKeptClasses() {
        Predictions p = samples(2, 3, 3).set(0, 1, 3).set(1, 0, 1).build();
        assertTrue(p.inTop(0, 5, 3));
        assertFalse(p.inTop(1, 5, 3));
        Metrics.Accuracy a = Metrics.accuracy(p);
        assertEquals(0, a.top1Correct());
        assertEquals(1, a.top5Correct());
    }

    @Test
    void nothingEvaluatedGivesNaNNotZero() {
        Predictions p = samples(5, 0, 1).build();
        Metrics.Accuracy a = Metrics.accuracy(p);
        assertEquals(0, a.n());
        assertTrue(Double.isNaN(a.top1()));
        assertTrue(Double.isNaN(Metrics.perClass(p, 2).meanTop1()));
    }

    @Test
    void labelOutsideTheClassesIsAnError() {
        Predictions p = samples(1, 0, 7).set(0, 0).set(1, 0).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Metrics.perClass(p, 3));
        assertTrue(e.getMessage().contains("label 7"), e.getMessage());
    }

    @Test
    void predictionCountMustBeK() {
        Predictions.Builder b = samples(5, 0);
        assertThrows(IllegalArgumentException.class, () -> b.set(0, 1, 2));
    }

    @Test
    void hostTopKOrdersByLogitThenLowerClassWithNaNFirst() {
        int[] best = new int[3];
        assertFalse(Evaluator.topK(new float[] {0.1f, 0.9f, 0.5f, 0.9f, -2f}, best));
        assertArrayEquals(new int[] {1, 3, 2}, best);  // tie 0.9: class 1 before 3
        assertFalse(Evaluator.topK(new float[] {1f, 1f, 1f, 1f}, best));
        assertArrayEquals(new int[] {0, 1, 2}, best);
        assertTrue(Evaluator.topK(new float[] {3f, Float.NaN, 5f, Float.NEGATIVE_INFINITY}, best));
        assertArrayEquals(new int[] {1, 2, 0}, best);
        int[] one = new int[1];
        Evaluator.topK(new float[] {-5f, -1f, -3f}, one);
        assertArrayEquals(new int[] {1}, one);
        int[] all = new int[4];
        Evaluator.topK(new float[] {0f, 3f, 1f, 2f}, all);
        assertArrayEquals(new int[] {1, 3, 2, 0}, all);
    }
}
