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
        return trainArgs(data, 2, out, more);
    }

    /** A tiny {@code relabel train} on {@link TrainData}'s images under {@code data}, then {@code more}. */
    static String[] trainArgs(Path data, int epochs, Path out, String... more) {
        String[] base = {"train", "--preset", "tiny", "--train", "imagefolder:" + data.resolve("train"), "--val",
                "imagefolder:" + data.resolve("val"), "--set", "model.width=8", "--set", "data.image_size=24",
                "--set", "util.val_batch_size=24", "--batch-size", "16", "--epochs", String.valueOf(epochs),
                "--workers", "2", "--out", out.toString()};
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

    private static final ObjectMapper YAML = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());

    /**
     * The defaults are the ImageNet recipe's (lr 0.5 for batch 512, 5 warmup epochs): a first run of 1 epoch at batch
     * 8 trains, at the rate scaled to its batch and with the warmup clamped to the run, and the log says both.
     */
    @Test
    void aFirstSmallRunOfTheDefaultsTrains() throws IOException {
        Path run = tmp.resolve("small");
        Run r = relabel("train", "--train", "imagefolder:" + data.resolve("train"), "--val", "", "--arch", "small-cnn",
                "--set", "model.width=8", "--set", "data.image_size=24", "--set", "util.print_freq=1", "--epochs", "1",
                "--batch-size", "8", "--workers", "1", "--out", run.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        String log = r.out() + r.err();
        assertTrue(log.contains("lr: 0.0078125 = optim.lr.init 0.5 (for batch 512, optim.lr.reference_batch) x 8 / 512"),
                log);
        assertTrue(log.contains("warning: optim.warmup.epochs 5 is not shorter than the run (1 epoch(s)): warmup "
                + "clamped to 0.5 epoch(s)"), log);
        assertTrue(r.out().contains("trained 1 epoch(s)"), r.out());
        double max = 0;
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.path("kind").asText().equals("step")) max = Math.max(max, n.get("lr").asDouble());
        }
        assertTrue(max > 0.005 && max <= 0.0078125 + 1e-12, "the step rates peak at the scaled rate: " + max);
        // the saved config says what the rate is for, so a resume trains at the same one
        JsonNode saved = YAML.readTree(run.resolve("config.yaml").toFile());
        assertEquals(512, saved.at("/optim/lr/reference_batch").asInt());

        // a rate given on the command line is taken as given; --print-config shows the notes as comments
        r = relabel("train", "--arch", "small-cnn", "--epochs", "1", "--batch-size", "8", "--lr", "0.02", "--print-config");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(!r.out().contains("# lr:") && r.out().contains("# warning: optim.warmup.epochs 5"), r.out());
        assertEquals(8, YAML.readTree(r.out()).at("/optim/lr/reference_batch").asInt(), r.out());
    }

    @Test
    void printConfigAndBadInput() throws IOException {
        Run r = relabel("train", "--preset", "tiny", "--lr", "0.3", "--labelmaps", "m.rlm", "--gt-mix", "0.5", "--print-config");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode printed = YAML.readTree(r.out());
        assertEquals(0.3, printed.at("/optim/lr/init").asDouble(), 0, r.out());
        assertEquals(0.5, printed.at("/data/relabel/gt_mix").asDouble(), 0, r.out());
        assertEquals("m.rlm", printed.at("/data/relabel/path").asText(), r.out());
        assertTrue(printed.at("/data/relabel/use").asBoolean(), r.out());
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
