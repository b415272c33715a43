package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.cli.CliTest.Run;
import org.relabel4j.demo.Demo;
import org.relabel4j.demo.FashionMnist;
import org.relabel4j.testing.Required;
import org.relabel4j.torch.Torch;

/**
 * {@code relabel demo}: the smoke preset end to end on the real Fashion-MNIST (CLI, then the library API on the same
 * cache), and bad input. Needs Debian's dataset-fashion-mnist (bin/setup installs it); skipped with a message without.
 */
class DemoCliTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void init() {
        Torch.init();
    }

    static void assumeFashionMnist() {
        Required.present(Files.isRegularFile(FashionMnist.DEBIAN_DIR.resolve("train-images-idx3-ubyte.gz")),
                "DemoCliTest: the end-to-end demo needs Fashion-MNIST in " + FashionMnist.DEBIAN_DIR + " ("
                        + FashionMnist.howToGet() + ")");
    }

    @Test
    void smokeRunReportsStudentsThatLearned() throws IOException {
        assumeFashionMnist();
        Path out = tmp.resolve("demo");
        Run r = CliTest.relabel("demo", "--smoke", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out.resolve("report.md"));
        for (String m : Demo.METHODS) {
            assertTrue(md.contains("| " + m + " |"), "report.md has no row for " + m + ":\n" + md);
            assertTrue(r.out().contains("| " + m + " |"), "the printed table has no row for " + m);
        }
        assertTrue(md.contains("| teacher (reference"), md);
        // one seed: the verdict calls no difference, and says why and by which rule
        assertTrue(md.contains("Verdict rule:") && r.out().contains("Verdict rule:"), md);
        assertTrue(md.contains("ReLabel (teacher maps) is within noise of one-hot on test top-1") && md.contains("1 seed: "
                + "the rule needs 3"), md);
        assertTrue(!md.contains(" beats ") && !md.contains(" loses to "), md);

        JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals(4, report.get("students").size());
        // the same validation budget: one setting per method in the smoke preset, each shown with its choice
        assertEquals(4, report.get("candidates").size());
        for (JsonNode s : report.get("students")) {
            String setting = s.get("setting").get("describe").asText();
            assertTrue(md.contains("| " + s.get("method").asText() + " | " + setting + " (best of 1) |"), setting + "\n" + md);
        }
        assertEquals(10, report.get("verdicts").size());
        for (JsonNode v : report.get("verdicts")) assertEquals("within noise of", v.get("verdict").asText(), v.toString());
        // the figure's scene follows the stated rule: the eligible scenes are those of 3+ items whose second item is
        // of another class than the label
        JsonNode fig = report.get("figure");
        int eligible = 0;
        boolean found = false;
        for (JsonNode sc : new ObjectMapper().readTree(findScenes(out).toFile()).get("scenes")) {
            JsonNode items = sc.get("items");
            if (items.size() >= 3 && items.get(1).get("class").asInt() != sc.get("label").asInt()) {
                ++eligible;
                found |= sc.get("key").asText().equals(fig.get("key").asText());
            }
        }
        assertEquals(eligible, fig.get("eligible_scenes").asInt(), fig.toString());
        assertTrue(found, "the figure's scene is eligible: " + fig);
        assertTrue(md.contains(fig.get("key").asText()) && md.contains("Picked by a rule"), md);
        for (JsonNode s : report.get("students")) {
            // well above chance: 10% top-1; about 28% multi-label (a guess names one of ~2.8 distinct classes)
            assertTrue(s.get("test_top1").asDouble() > 20, s + "\n" + r.out());
            assertTrue(s.get("test_multi").asDouble() > 40, s + "\n" + r.out());
            assertTrue(s.get("test_multi").asDouble() >= s.get("test_top1").asDouble(), s.toString());
            assertTrue(s.get("val_top1").asDouble() > 15, s + "\n" + r.out());
            // the table's row shows this number
            assertTrue(md.contains(String.format(java.util.Locale.ROOT, "%.2f", s.get("test_top1").asDouble())), md);
        }
        assertTrue(report.get("teacher").get("val_top1").asDouble() > 20, report.toString());
        assertTrue(report.get("teacher").get("test_multi").asDouble() > 40, report.toString());
        for (String png : new String[] {"curves.png", "show-teacher.png", "show-oracle.png"})
            assertTrue(Files.size(out.resolve(png)) > 5000, png);
        // the pooled ReLabel students trained on the stores the run wrote
        for (JsonNode s : report.get("students"))
            if (s.has("pooling")) {
                String cfg = Files.readString(Path.of(s.get("run").asText()).resolve("config.yaml"));
                String maps = s.get("method").asText().contains("teacher") ? "teacher-maps-" : "oracle-maps-";
                assertTrue(cfg.contains("use: true") && cfg.contains(maps), cfg);
            }

        // the library API on the same cache: scenes, teacher and stores come from the first run
        List<String> log = new ArrayList<>();
        Demo.Result again = Demo.preset("smoke").out(out).log(log::add).build().run();
        for (String step : new String[] {"scenes: cached", "teacher: cached", "teacher maps: cached", "oracle maps: cached"})
            assertTrue(log.stream().anyMatch(l -> l.startsWith(step)), step + " not in " + log);
        assertEquals(report.get("teacher").get("test_top1").asDouble(), again.teacherTop1(), 1e-9);
        assertEquals(4, again.runs().size());
        assertTrue(again.runs().stream().allMatch(s -> s.testTop1() > 20 && s.testMulti() > 40), again.table());
    }

    /** The cache's train.scenes.json (scenes are cached under a hash). */
    static Path findScenes(Path out) throws IOException {
        try (var s = Files.list(out.resolve("cache"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("scenes-") && Files.isDirectory(p)).findFirst()
                    .orElseThrow().resolve("train.scenes.json");
        }
    }

    @Test
    void missingDataSaysWhatToDo() {
        Run r = CliTest.relabel("demo", "--smoke", "--fashion-mnist", tmp.resolve("nothing").toString(), "--out",
                tmp.resolve("o").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(tmp.resolve("nothing").toString()) && r.err().contains("dataset-fashion-mnist"), r.err());
    }

    @Test
    void aMissingGpuFailsBeforeAnyWork() throws IOException {
        assumeTrue(!Torch.cudaAvailable(), "this machine has a CUDA device");
        Path o = tmp.resolve("o");
        Run r = CliTest.relabel("demo", "--smoke", "--device", "cuda", "--out", o.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no CUDA device"), r.err());
        Path cache = o.resolve("cache");
        if (Files.exists(cache))
            try (var entries = Files.list(cache)) {
                assertEquals(0, entries.count(), "nothing was built in " + cache);
            }
    }

    @Test
    void badOptionsAreUsageErrors() {
        String[][] bad = {{"--items", "2-x"}, {"--items", "4-2"}, {"--scale", "0.7-0.2"}, {"--candidates", "mean:1"},
                {"--candidates", "logits:0"}, {"--epochs", "0"}, {"--seeds", "1,1"}, {"--oracle-grid", "100"},
                {"--device", "tpu"}, {"--candidates", "logits:1,logits:0.3"}, {"--lr-candidates", "0"},
                {"--smoothing-candidates", "0.1:x"}};
        String[] expect = {"--items", "--items", "--scale", "logits or probs", "temperature", "--epochs", "--seeds",
                "--oracle-grid", "--device", "same validation budget", "--lr-candidates", "--smoothing-candidates"};
        for (int i = 0; i < bad.length; ++i) {
            Run r = CliTest.relabel("demo", "--smoke", "--out", tmp.resolve("o").toString(), bad[i][0], bad[i][1]);
            assertEquals(2, r.code(), String.join(" ", bad[i]) + ": " + r.err());
            assertTrue(r.err().contains(expect[i]), String.join(" ", bad[i]) + ": " + r.err());
        }
    }
}
