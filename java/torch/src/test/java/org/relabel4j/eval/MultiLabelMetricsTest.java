package org.relabel4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** mAP and the F1s against cases computed by hand (and scikit-learn's definitions, written out in the comments). */
class MultiLabelMetricsTest {
    @Test
    void averagePrecisionOfAPerfectAndAWorstRanking() {
        assertEquals(1.0, MultiLabelMetrics.averagePrecision(new float[] {0.9f, 0.8f, 0.1f}, new boolean[] {true, true, false}), 1e-12);
        // positives ranked last: P at recall 0.5 is 1/3, at recall 1 it is 2/4
        assertEquals(0.5 * (1.0 / 3) + 0.5 * (2.0 / 4), MultiLabelMetrics.averagePrecision(new float[] {0.9f, 0.8f, 0.2f, 0.1f},
                new boolean[] {false, false, true, true}), 1e-12);
    }

    @Test
    void tiedScoresAreOneThreshold() {
        // sklearn average_precision_score([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.1]) = 0.6666...: the three tied enter
        // together (recall 1 at precision 2/3); ranking the positive first inside the tie would give 1.0
        assertEquals(2.0 / 3, MultiLabelMetrics.averagePrecision(new float[] {0.5f, 0.5f, 0.5f, 0.1f},
                new boolean[] {true, false, true, false}), 1e-12);
        // a tie after a hit: [0.9 pos, 0.4 neg, 0.4 pos] -> 0.5 * 1 + 0.5 * 2/3
        assertEquals(0.5 + 0.5 * 2.0 / 3, MultiLabelMetrics.averagePrecision(new float[] {0.9f, 0.4f, 0.4f},
                new boolean[] {true, false, true}), 1e-12);
    }

    @Test
    void classesWithoutPositivesAreLeftOutOfTheMean() {
        float[][] s = {{0.9f, 0.2f, 0.7f}, {0.1f, 0.8f, 0.6f}, {0.6f, 0.3f, 0.1f}};
        boolean[][] t = {{true, false, false}, {false, false, false}, {false, false, true}};
        MultiLabelMetrics.Result r = MultiLabelMetrics.of(s, t, 0.5);
        // class 0: positive ranked first -> 1; class 1: no positive -> left out; class 2: positive last of three -> 1/3
        assertEquals(1.0, r.ap()[0], 1e-12);
        assertTrue(Double.isNaN(r.ap()[1]));
        assertEquals(1.0 / 3, r.ap()[2], 1e-12);
        assertEquals((1.0 + 1.0 / 3) / 2, r.map(), 1e-12);
        assertEquals(1, r.classesWithoutPositives());
        // at 0.5: predicted {0,2}, {1,2}, {0}. Class 0: tp 1 of 2 predicted, 1 positive -> P 1/2, R 1.
        // class 1: tp 0 of 1 predicted, no positives -> P 0, R 0. Class 2: tp 0 of 2, 1 positive -> P 0, R 0.
        assertEquals((0.5 + 0 + 0) / 3, r.atThreshold().cp(), 1e-12);
        assertEquals((1.0 + 0 + 0) / 3, r.atThreshold().cr(), 1e-12);
        double cp = 0.5 / 3, cr = 1.0 / 3;
        assertEquals(2 * cp * cr / (cp + cr), r.atThreshold().cf1(), 1e-12);
        // overall: tp 1, predicted 5, positives 2
        assertEquals(0.2, r.atThreshold().op(), 1e-12);
        assertEquals(0.5, r.atThreshold().or(), 1e-12);
        assertEquals(2 * 0.2 * 0.5 / 0.7, r.atThreshold().of1(), 1e-12);
    }

    @Test
    void topThreeKeepsTheThreeBestAboveTheThreshold() {
        float[][] s = {{0.9f, 0.8f, 0.7f, 0.6f}};
        boolean[][] t = {{false, false, false, true}};
        MultiLabelMetrics.Result r = MultiLabelMetrics.of(s, t, 0.5);
        assertEquals(0.25, r.atThreshold().op(), 1e-12, "all four predicted at 0.5");
        assertEquals(1.0, r.atThreshold().or(), 1e-12);
        assertEquals(0.0, r.top3().op(), 1e-12, "the positive is fourth: not among the top 3");
        assertEquals(0.0, r.top3().or(), 1e-12);
        // ties broken by the lower class id; below the threshold nothing is predicted even in the top 3
        MultiLabelMetrics.Result tie = MultiLabelMetrics.of(new float[][] {{0.6f, 0.6f, 0.6f, 0.6f, 0.2f}},
                new boolean[][] {{false, false, false, true, true}}, 0.5);
        assertEquals(0.0, tie.top3().or(), 1e-12);
    }

    @Test
    void badInputNamesTheImage() {
        var e = assertThrows(IllegalArgumentException.class, () -> MultiLabelMetrics.of(new float[][] {{0.1f}, {Float.NaN}},
                new boolean[][] {{true}, {false}}, 0.5));
        assertTrue(e.getMessage().contains("image 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MultiLabelMetrics.of(new float[][] {{0.1f, 0.2f}},
                new boolean[][] {{true}}, 0.5));
        assertTrue(Double.isNaN(MultiLabelMetrics.of(new float[][] {{0.1f}}, new boolean[][] {{false}}, 0.5).map()));
    }
}
