package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.eval.ModelLoader;
import org.relabel4j.eval.TestClassifiers;

/** {@code relabel eval --task multilabel}: mAP and the F1s of a model whose scores are known, the JSON, bad input. */
class MultiLabelEvalCliTest {
    @TempDir
    Path tmp;

    ModelLoader saved;

    /**
     * Images: a red+green, b blue, c red, d green+blue; labels a {0,1}, b {2}, c {0}, d {1} (0 red, 1 green, 2 blue).
     * The model scores class c +3 when channel c is bright, else -3 (sigmoid 0.95 / 0.05), so d's blue is a false
     * positive tied with b's true one.
     */
    @BeforeEach
    void setUp() throws IOException {
        EvalCliTest.jpeg(tmp.resolve("img/a.jpg"), 0xE0E010);
        EvalCliTest.jpeg(tmp.resolve("img/b.jpg"), 0x1010E0);
        EvalCliTest.jpeg(tmp.resolve("img/c.jpg"), 0xE01010);
        EvalCliTest.jpeg(tmp.resolve("img/d.jpg"), 0x10E0E0);
        Files.writeString(tmp.resolve("img/labels.txt"), "a.jpg\t0,1\nb.jpg\t2\nc.jpg\t0\nd.jpg\t1\n");
        saved = EvalCommand.models;
        EvalCommand.models = (model, checkpoint, classes) -> new TestClassifiers.ByColor(classes, rgb -> {
            float[] z = new float[classes];
            for (int c = 0; c < 3; ++c) z[c] = rgb[c] > 128 ? 3f : -3f;
            return z;
        });
    }

    @AfterEach
    void restore() {
        EvalCommand.models = saved;
    }

    @Test
    void mapAndF1sAsComputedByHand() throws IOException {
        Path report = tmp.resolve("out/ml.json");
        EvalCliTest.Run r = EvalCliTest.relabel("eval", "--task", "multilabel", "--data", "multilist:" + tmp.resolve("img/labels.txt"),
                "--model", "by-color", "--size", "32", "--batch", "3", "--workers", "1", "--out", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        // AP red 1, green 1, blue 0.5 (b and d tied at the top, one positive): mAP 83.33
        assertTrue(r.out().contains("mAP:      83.33"), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(report.toFile());
        assertEquals(100 * 2.5 / 3, j.get("map").asDouble(), 1e-9);
        assertEquals(50.0, j.at("/per_class_ap/2/ap").asDouble(), 1e-9);
        // predicted at 0.5: a {0,1}, b {2}, c {0}, d {1,2}: CP (1 + 1 + 0.5) / 3, CR 1, OP 5/6, OR 1
        assertEquals(100 * 2.5 / 3, j.at("/at_threshold/CP").asDouble(), 1e-9);
        assertEquals(100.0, j.at("/at_threshold/CR").asDouble(), 1e-9);
        assertEquals(100 * 5.0 / 6, j.at("/at_threshold/OP").asDouble(), 1e-9);
        assertEquals(100.0, j.at("/at_threshold/OR").asDouble(), 1e-9);
        assertEquals(4, j.get("images").asInt());
        assertEquals(0, j.get("classes_without_positives").asInt());
    }

    @Test
    void aSingleLabelDatasetOrABadTaskIsExit2() throws IOException {
        Files.writeString(tmp.resolve("img/single.txt"), "a.jpg\t0\n");
        EvalCliTest.Run r = EvalCliTest.relabel("eval", "--task", "multilabel", "--data", "list:" + tmp.resolve("img/single.txt"),
                "--model", "by-color", "--size", "32");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("needs a multi-label dataset"), r.err());
        r = EvalCliTest.relabel("eval", "--task", "multi", "--data", "multilist:" + tmp.resolve("img/labels.txt"),
                "--model", "by-color");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--task must be single or multilabel"), r.err());
        Files.writeString(tmp.resolve("img/bad.txt"), "a.jpg\t0,x\n");
        r = EvalCliTest.relabel("eval", "--task", "multilabel", "--data", "multilist:" + tmp.resolve("img/bad.txt"),
                "--model", "by-color");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bad.txt:1") && r.err().contains("'x'"), r.err());
    }
}
