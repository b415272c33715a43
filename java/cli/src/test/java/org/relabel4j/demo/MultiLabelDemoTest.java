package org.relabel4j.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The multi-label demo's verdict rule: "beats" only beyond the sum of the seed standard deviations. */
class MultiLabelDemoTest {
    static List<MultiLabelDemo.Run> runs(double[] multiHot, double[] teacher, double[] oracle) {
        List<MultiLabelDemo.Run> r = new ArrayList<>();
        String[] m = {MultiLabelDemo.MULTI_HOT, MultiLabelDemo.TEACHER, MultiLabelDemo.ORACLE};
        double[][] v = {multiHot, teacher, oracle};
        for (int i = 0; i < 3; ++i)
            for (int s = 0; s < v[i].length; ++s)
                r.add(new MultiLabelDemo.Run(m[i], s, 0.1, 50, v[i][s], 0, 0, 1, Path.of("x"), MultiLabelDemo.Target.MULTI_HOT));
        return r;
    }

    @Test
    void beatsOnlyBeyondTheSeedSpread() {
        // multi-hot 50 +- 1, teacher 53 +- 1 (beats: 3 > 2), oracle 51 +- 1 (within 2)
        List<String> v = MultiLabelDemo.verdict(runs(new double[] {49, 50, 51}, new double[] {52, 53, 54},
                new double[] {50, 51, 52}));
        assertTrue(v.get(0).contains("beats") && v.get(0).contains("+3.00"), v.get(0));
        assertTrue(v.get(1).contains("does not differ beyond the seed spread"), v.get(1));
        List<String> lose = MultiLabelDemo.verdict(runs(new double[] {49, 50, 51}, new double[] {44, 45, 46},
                new double[] {50, 50, 50}));
        assertTrue(lose.get(0).contains("loses to"), lose.get(0));
    }

    @Test
    void oneSeedGivesNoVerdict() {
        List<String> v = MultiLabelDemo.verdict(runs(new double[] {40}, new double[] {60}, new double[] {70}));
        assertEquals(2, v.size());
        assertTrue(v.get(0).contains("no verdict") && v.get(1).contains("no verdict"), v.toString());
    }

    @Test
    void everyMethodGetsTheSameNumberOfCandidates() {
        // multi-hot has 1 target setting, the ReLabel methods 2: multi-hot's grid is refined to twice the rates
        assertEquals(List.of(0.5, 0.7071, 1.0, 1.414, 2.0, 2.828), MultiLabelDemo.lrGrid(List.of(1.0, 0.5, 2.0), 1, 2));
        assertEquals(List.of(0.5, 1.0, 2.0), MultiLabelDemo.lrGrid(List.of(2.0, 1.0, 0.5, 1.0), 2, 2));
        assertEquals(List.of(1.0, 1.414), MultiLabelDemo.lrGrid(List.of(1.0), 1, 2));
        int most = MultiLabelDemo.TARGETS.values().stream().mapToInt(List::size).max().orElseThrow();
        for (String m : MultiLabelDemo.METHODS) {
            int n = MultiLabelDemo.TARGETS.get(m).size();
            assertEquals(3 * most, n * MultiLabelDemo.lrGrid(List.of(0.5, 1.0, 2.0), n, most).size(), m);
        }
        assertThrows(IllegalArgumentException.class, () -> MultiLabelDemo.lrGrid(List.of(1.0), 2, 3));
    }
}
