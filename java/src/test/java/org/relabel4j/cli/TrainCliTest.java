package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainData;

/** `relabel train` then `relabel eval` on its model, end to end through the CLI. */
class TrainCliTest {
    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    String[] train(Path out, String... more) {
        String[] base = {"train", "--preset", "tiny", "--train", "imagefolder:" + data.resolve("train"), "--val",
                "imagefolder:" + data.resolve("val"), "--set", "model.width=8", "--set", "data.image_size=24",
                "--set", "util.val_batch_size=24", "--batch-size", "16", "--epochs", "2", "--workers", "2", "--out",
                out.toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void trainThenEvaluateTheModel() throws IOException {
        Path run = tmp.resolve("run");
        Run r = relabel(train(run));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("trained 2 epoch(s), 12 steps") && r.out().contains("val top-1"), r.out());
        assertTrue(r.out().contains("epoch 2:"), r.out());
        JsonNode summary = new ObjectMapper().readTree(run.resolve("summary.json").toFile());

        // The exported model.pth evaluates to the run's own last validation top-1 (same transform: 24 px, 0.875).
        Path report = tmp.resolve("eval.json");
        r = relabel("eval", "--data", "imagefolder:" + data.resolve("val"), "--model", "small-cnn", "--checkpoint",
                run.resolve("model.pth").toString(), "--size", "24", "--out", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        double evalTop1 = new ObjectMapper().readTree(report.toFile()).at("/metrics/top1").asDouble();
        assertEquals(summary.get("val_top1").asDouble(), 100 * evalTop1, 1e-9);
        assertTrue(evalTop1 > 0.6, "learned: " + evalTop1);
    }

    @Test
    void stopAndResume() throws IOException {
        Path run = tmp.resolve("run");
        Run r = relabel(train(run, "--max-steps", "3"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("stopped after 0 epoch(s), 3 steps"), r.out());
        r = relabel("train", "--resume", run.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("resumed") && r.out().contains("trained 2 epoch(s), 12 steps"), r.out());
        assertTrue(Files.exists(run.resolve("model.pth")));
        r = relabel("train", "--resume", run.toString(), "--lr", "1.0");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("optim.lr.init"), r.err());
        r = relabel("train", "--resume", run.toString(), "--preset", "tiny");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
    }

    @Test
    void printConfigAndBadInput() {
        Run r = relabel("train", "--preset", "tiny", "--lr", "0.3", "--labelmaps", "m.rlm", "--gt-mix", "0.5", "--print-config");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("init: 0.3") && r.out().contains("gt_mix: 0.5") && r.out().contains("path: \"m.rlm\"")
                || r.out().contains("path: 'm.rlm'") || r.out().contains("path: m.rlm"), r.out());
        r = relabel("train", "--preset", "tiny", "--set", "optim.lr.int=1", "--print-config");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().contains("optim.lr.int"), r.err());
        r = relabel("train", "--preset", "tiny", "--train", "imagefolder:" + tmp.resolve("none"), "--out", tmp.resolve("o").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("none"), r.err());
        r = relabel("train", "--preset", "tiny", "--amp", "fp8", "--print-config");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().contains("compute.amp"), r.err());
    }
}
