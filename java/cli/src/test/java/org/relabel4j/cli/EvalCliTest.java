package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.eval.ModelLoader;
import org.relabel4j.data.Datasets;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.Metrics;
import org.relabel4j.eval.TestClassifiers;
import org.relabel4j.model.ModuleClassifier;
import org.relabel4j.model.Models;
import org.relabel4j.model.StateDicts;

/** `relabel eval` end to end with a test model behind the {@link ModelLoader} hook. */
class EvalCliTest {
    @TempDir
    Path tmp;

    Path root;
    final List<String> loads = new ArrayList<>();
    ModelLoader saved;

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static void jpeg(Path file, int rgb) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, TestImages.jpeg(96, 72, (x, y) -> rgb));
    }

    static String val(int i) {
        return String.format("ILSVRC2012_val_%08d.JPEG", i);
    }

    /** blue/: images 1, 4; green/: 2 and 5 (5 is red); red/: 3, 6. The model predicts the dominant color. */
    @BeforeEach
    void setUp() throws IOException {
        root = tmp.resolve("val");
        jpeg(root.resolve("blue/" + val(1)), 0x1010E0);
        jpeg(root.resolve("blue/" + val(4)), 0x1010E0);
        jpeg(root.resolve("green/" + val(2)), 0x10E010);
        jpeg(root.resolve("green/" + val(5)), 0xE01010);
        jpeg(root.resolve("red/" + val(3)), 0xE01010);
        jpeg(root.resolve("red/" + val(6)), 0xE01010);
        saved = EvalCommand.models;
        EvalCommand.models = (model, checkpoint, classes) -> {
            loads.add(model + " " + checkpoint + " " + classes);
            return TestClassifiers.dominantChannel(classes, 2, 1, 0);
        };
    }

    @AfterEach
    void restore() {
        EvalCommand.models = saved;
    }

    @Test
    void writesTheReportAndPrintsTheTable() throws IOException {
        Path real = Files.writeString(tmp.resolve("real.json"), "[[0], [], [2], [1], [2, 1], [2]]");
        Path multi = Files.writeString(tmp.resolve("multi.json"), "{\"" + val(5) + "\": {\"correct\": [\"red\"]}, \""
                + val(4) + "\": {\"correct\": [\"green\"], \"unclear\": [\"blue\"]}, \"" + val(1)
                + "\": {\"correct\": [\"blue\"], \"problematic\": true}}");
        Path report = tmp.resolve("out/report.json");
        Path weights = Files.write(tmp.resolve("w.pt"), new byte[0]);  // checked to exist; the test loader ignores it
        Run r = relabel("eval", "--data", "imagefolder:" + root, "--model", "by-color", "--checkpoint",
                weights.toString(), "--classes", "4", "--real", real.toString(), "--shankar", multi.toString(), "--size",
                "32", "--batch", "4", "--workers", "2", "--out", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(List.of("by-color " + weights + " 4"), loads);
        assertTrue(r.out().contains("accuracy") && r.out().contains("83.33"), r.out());   // 5 of 6
        assertTrue(r.out().contains("ReaL") && r.out().contains("80.00"), r.out());       // 4 of 5 non-empty lists
        assertTrue(r.out().contains("multi-label (Shankar, val)") && r.out().contains("50.00"), r.out());

        JsonNode json = new ObjectMapper().readTree(report.toFile());
        assertEquals(5.0 / 6, json.at("/metrics/top1").asDouble());
        assertEquals(1.0, json.at("/metrics/top5").asDouble());
        assertEquals(0.8, json.at("/metrics/real/top1").asDouble());
        assertEquals(5, json.at("/metrics/real/n").asInt());
        assertEquals(1, json.at("/metrics/real/emptyLists").asInt());
        assertEquals(0.5, json.at("/metrics/shankar/accuracy").asDouble());
        assertEquals(1.0, json.at("/metrics/shankar/accuracyWithUnclear").asDouble());
        assertEquals(1, json.at("/metrics/shankar/problematic").asInt());
        assertEquals("flat_json", json.at("/metrics/shankar/layout").asText());
        assertEquals(weights.toString(), json.at("/model/checkpoint").asText());
        assertEquals(4, json.at("/model/classes").asInt());
        assertEquals(3, json.at("/perClass").size());
        assertEquals(0.5, json.at("/perClass/1/top1").asDouble());  // green: 1 of 2
        assertEquals("cpu", json.at("/settings/device").asText());
        assertEquals(6, json.at("/dataset/images").asInt());
        assertFalse(json.at("/date").asText().isEmpty());
    }

    @Test
    void labelFilesThatDoNotMatchFailBeforeTheModelRuns() throws IOException {
        Path real = Files.writeString(tmp.resolve("real.json"), "[[0], [1], [2]]");
        Run r = relabel("eval", "--data", "imagefolder:" + root, "--model", "m", "--real", real.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("3 label lists") && r.err().contains("6 images"), r.err());
        Path multi = Files.writeString(tmp.resolve("multi.json"), "{\"other.JPEG\": {\"correct\": [1]}}");
        r = relabel("eval", "--data", "imagefolder:" + root, "--model", "m", "--shankar", multi.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("none of the 1 images"), r.err());
        assertEquals(List.of(), loads);
    }

    @Test
    void badUsage() throws IOException {
        Run r = relabel("eval", "--data", "imagefolder:" + root, "--model", "m", "--device", "tpu");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().contains("--device"), r.err());
        r = relabel("eval", "--data", tmp.resolve("nothing").toString(), "--model", "m");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        r = relabel("eval", "--model", "m");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        Path names = Files.writeString(tmp.resolve("names.txt"), "blue\n\nred\n");
        r = relabel("eval", "--data", "imagefolder:" + root, "--model", "m", "--class-names", names.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().contains("line 2 is empty"), r.err());
    }

    @Test
    void builtInArchitectureWithItsCheckpoint() throws IOException {
        EvalCommand.models = saved;
        Path ckpt = tmp.resolve("small.pth");
        double direct;
        try (ModuleClassifier m = Models.create("small_cnn", 3)) {
            StateDicts.save(m, ckpt);
            Evaluator.Run run = Evaluator.builder().size(32).batchSize(4).build().run(m, Datasets.open("imagefolder:" + root, null));
            direct = Metrics.accuracy(run.predictions()).top1();
        }
        Path report = tmp.resolve("r.json");
        Run r = relabel("eval", "--data", "imagefolder:" + root, "--model", "small_cnn", "--checkpoint", ckpt.toString(),
                "--size", "32", "--batch", "4", "--out", report.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(direct, new ObjectMapper().readTree(report.toFile()).at("/metrics/top1").asDouble(), 1e-12);

        // The checkpoint of another architecture is refused with the tensors named, before any image is read.
        r = relabel("eval", "--data", "imagefolder:" + root, "--model", "resnet18", "--checkpoint", ckpt.toString(),
                "--size", "32");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("small.pth"), r.err());
        r = relabel("eval", "--data", "imagefolder:" + root, "--model", "vgg11");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("unknown model 'vgg11'") && r.err().contains("resnet50"), r.err());
    }
}
