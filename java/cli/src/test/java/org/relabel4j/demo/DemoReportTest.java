package org.relabel4j.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.relabel4j.demo.Demo.Candidate;
import org.relabel4j.demo.Demo.Setting;

/** The demo's verdict rule, its settings and the equal validation budget, without data. */
class DemoReportTest {
    @Test
    void beatsOnlyBeyondTheSeedsSpread() {
        // one seed: no spread to compare against, however large the difference
        assertEquals("within noise of", DemoReport.word(List.of(50.0), List.of(40.0)));
        assertEquals("within noise of", DemoReport.word(List.of(50.0, 51.0), List.of(40.0, 41.0)));
        // three seeds each: separated ranges beat (or lose), overlapping ranges are noise
        assertEquals("beats", DemoReport.word(List.of(44.5, 44.4, 44.7), List.of(40.4, 41.2, 39.6)));
        assertEquals("loses to", DemoReport.word(List.of(40.4, 41.2, 39.6), List.of(44.5, 44.4, 44.7)));
        assertEquals("within noise of", DemoReport.word(List.of(44.5, 40.0, 44.7), List.of(40.4, 41.2, 39.6)));
        // a mean difference of several points with one seed of A below one of B is still noise
        assertEquals("within noise of", DemoReport.word(List.of(48.0, 47.0, 40.5), List.of(41.0, 40.0, 39.0)));
        // equal values are not above
        assertEquals("within noise of", DemoReport.word(List.of(42.0, 43.0, 44.0), List.of(40.0, 41.0, 42.0)));
        assertTrue(DemoReport.RULE.contains("every seed of A scores above every seed of B"), DemoReport.RULE);
    }

    @Test
    void settingsDescribeThemselves() {
        assertEquals("lr 0.025", Setting.oneHot(0.025).describe());
        assertEquals("epsilon 0.2, lr 0.1", Setting.parseSmoothing("0.2:0.1", 0.05).describe());
        assertEquals("epsilon 0.1, lr 0.05", Setting.parseSmoothing("0.1", 0.05).describe());
        assertEquals("logits T=0.3 gt-mix 0.5, lr 0.05", Setting.relabel(Candidate.parse("logits:0.3:0.5"), 0.05).describe());
        assertEquals("eps0.1-lr0.05", Setting.smoothing(0.1, 0.05).slug());
        assertEquals("probs-t1-lr0.05", Setting.relabel(Candidate.parse("probs:1"), 0.05).slug());
        for (String bad : new String[] {"x", "0.1:y", "0", "1.5", "0.1:0", "0.1:0.2:0.3"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Setting.parseSmoothing(bad, 0.05), bad);
            assertTrue(e.getMessage().contains("smoothing") || e.getMessage().contains("learning rate"), e.getMessage());
        }
    }

    @Test
    void everyMethodGetsTheSameValidationBudget() {
        for (String preset : Demo.PRESETS) {
            Demo.Options o = Demo.preset(preset).build().options();
            int n = o.candidates().size();
            for (String m : Demo.METHODS) assertEquals(n, o.settings(m).size(), preset + " " + m);
            // the baselines' grids hold distinct settings (a budget of copies would be no budget)
            for (String m : Demo.METHODS) assertEquals(n, o.settings(m).stream().distinct().count(), preset + " " + m);
        }
        Demo.Options d = Demo.preset("default").build().options();
        // the default: every method tunes the learning rate over the same values
        for (String m : Demo.METHODS)
            assertEquals(List.of(0.1, 0.2, 0.4), d.settings(m).stream().map(Setting::lr).toList(), m);
        assertTrue(d.settings(Demo.SMOOTHING).stream().allMatch(s -> s.smoothing() == 0.1));
        assertTrue(d.settings(Demo.RELABEL_ORACLE).stream().allMatch(s -> s.pooling().temperature() == 0.3));
        // a candidate without its own rate trains at --lr
        assertEquals(0.07, Demo.preset("smoke").lr(0.07).build().options().settings(Demo.RELABEL_TEACHER).get(0).lr());
        assertEquals(0.1, Demo.preset("smoke").candidates(List.of(Candidate.parse("logits:0.3:0:0.1"))).build().options()
                .settings(Demo.RELABEL_TEACHER).get(0).lr());
        assertThrows(IllegalArgumentException.class, () -> Candidate.parse("logits:0.3:0:0"));
        assertThrows(IllegalArgumentException.class, () -> Candidate.parse("logits:0.3:0:0.1:1"));
        var e = assertThrows(IllegalArgumentException.class, () -> Demo.preset("default")
                .candidates(List.of(Candidate.parse("logits:0.3"))).build());
        assertTrue(e.getMessage().contains("same validation budget") && e.getMessage().contains("--lr-candidates"),
                e.getMessage());
        // given as many settings, any grid is accepted
        Demo.Options one = Demo.preset("default").candidates(List.of(Candidate.parse("logits:0.3"))).oneHot(List.of(0.1))
                .smoothing(List.of(Setting.smoothing(0.2, 0.05))).build().options();
        assertEquals(List.of(Setting.oneHot(0.1)), one.settings(Demo.ONE_HOT));
        assertThrows(IllegalArgumentException.class, () -> Demo.preset("default").oneHot(List.of(0.0)));
        assertThrows(IllegalArgumentException.class, () -> Demo.preset("default").smoothing(List.of(Setting.oneHot(0.1))));
    }
}
