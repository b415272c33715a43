package org.relabel4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.torch.Torch;

/** The evaluator end to end on JPEGs written by the test, with classifiers that look at the mean color. */
class EvaluatorTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void torch() {
        Torch.init();
    }

    static final int RED = 0xE01010, GREEN = 0x10D020, BLUE = 0x1020E0;

    /** A color with a faint gradient (so the JPEG is not flat). */
    static TestImages.Pixels tinted(int rgb) {
        return (x, y) -> {
            int r = (rgb >> 16) & 0xFF, g = (rgb >> 8) & 0xFF, b = rgb & 0xFF;
            int d = (x + y) % 8;
            return (Math.min(255, r + d) << 16) | (Math.min(255, g + d) << 8) | Math.min(255, b + d);
        };
    }

    static void jpeg(Path file, int w, int h, TestImages.Pixels p) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, TestImages.jpeg(w, h, p));
    }

    /**
     * Classes blue (0), green (1), red (2); three images of each color in its folder, plus a red image in green/ and
     * a blue image in red/ (wrongly labelled: the model sees their color), plus an unreadable file in blue/.
     */
    Path colorFolder() throws IOException {
        Path root = tmp.resolve("val");
        int[][] sizes = {{300, 200}, {180, 260}, {64, 64}};
        String[] names = {"blue", "green", "red"};
        int[] colors = {BLUE, GREEN, RED};
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < sizes.length; ++i)
                jpeg(root.resolve(names[c]).resolve(names[c] + "_" + i + ".JPEG"), sizes[i][0], sizes[i][1], tinted(colors[c]));
        jpeg(root.resolve("green/z_red.JPEG"), 120, 90, tinted(RED));
        jpeg(root.resolve("red/a_blue.JPEG"), 90, 120, tinted(BLUE));
        Files.write(root.resolve("blue/broken.JPEG"), new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        return root;
    }

    @Test
    void topOneOnAnImageFolderIsExactlyTheShareTheModelGetsRight() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + colorFolder());
        assertEquals(12, ds.size());
        TestClassifiers.ByColor model = TestClassifiers.dominantChannel(6, 2, 1, 0);  // R -> red(2), G -> green(1), B -> blue(0)
        List<String> log = new ArrayList<>();
        List<Integer> progress = new ArrayList<>();
        Evaluator ev = Evaluator.builder().batchSize(4).workers(2).size(32).log(log::add).progress(progress::add).build();
        assertEquals(36, ev.resize());  // floor(32 / 0.875)
        Evaluator.Run run = ev.run(model, ds);
        Predictions p = run.predictions();

        assertFalse(model.training);
        assertFalse(model.gradEnabledInForward);
        assertTrue(model.moved);
        assertEquals(3, model.forwards);
        assertEquals(List.of(4, 8, 12), progress);
        assertEquals(12, p.size());
        assertEquals(11, p.evaluatedCount());
        assertEquals(5, p.k());
        assertEquals(1, p.skipped().size());
        assertTrue(p.skipped().get(0).startsWith("blue/broken: "), p.skipped().get(0));
        assertEquals(1, log.size());
        for (int i = 0; i < ds.size(); ++i) {
            assertEquals(ds.sample(i).key(), p.key(i));
            assertEquals(ds.sample(i).label(), p.label(i));
            assertEquals(p.key(i).substring(p.key(i).indexOf('/') + 1) + ".JPEG", p.fileName(i));
        }
        // Every image is predicted by its color: 9 of the 11 readable ones carry their color's label.
        Metrics.Accuracy a = Metrics.accuracy(p);
        assertEquals(11, a.n());
        assertEquals(9, a.top1Correct());
        assertEquals(9.0 / 11, a.top1());
        assertEquals(11, a.top5Correct());  // the 3 color classes lead the 6
        int redInGreen = indexOf(p, "green/z_red"), blueInRed = indexOf(p, "red/a_blue");
        assertEquals(2, p.top1(redInGreen));
        assertEquals(0, p.top1(blueInRed));
        assertEquals(List.of(3, 4), List.of(p.topK(blueInRed)[3], p.topK(blueInRed)[4]));  // -1003 > -1004: by logit
        Metrics.PerClass pc = Metrics.perClass(p, 3);
        assertArrayEquals(new int[] {3, 4, 4}, pc.n());
        assertArrayEquals(new int[] {3, 3, 3}, pc.top1Correct());
        assertEquals((1.0 + 0.75 + 0.75) / 3, pc.meanTop1(), 1e-15);
        assertEquals(0, p.nonFinite());
        assertTrue(run.seconds() > 0);

        // The report: JSON with every metric and the per-class table; the printed summary.
        EvalReport report = new EvalReport(run, ds).inputs("imagefolder:val", "by-color", null).settings(ev);
        Path out = tmp.resolve("reports/report.json");
        report.write(out);
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertEquals(9.0 / 11, json.at("/metrics/top1").asDouble());
        assertEquals(11, json.at("/metrics/n").asInt());
        assertEquals(1, json.at("/dataset/skipped").asInt());
        assertEquals("blue/broken", json.at("/dataset/skippedImages/0").asText().split(":")[0]);
        assertEquals(36, json.at("/settings/resize").asInt());
        assertEquals(32, json.at("/settings/crop").asInt());
        assertEquals(3, json.at("/perClass").size());
        assertEquals("green", json.at("/perClass/1/name").asText());
        assertEquals(0.75, json.at("/perClass/1/top1").asDouble());
        assertTrue(json.at("/model/checkpoint").isNull());
        assertFalse(json.has("real"));
        try (var files = Files.list(out.getParent())) {
            assertEquals(1, files.count());  // no temporary file left behind
        }
        String table = report.table();
        assertTrue(table.contains("81.82"), table);
        assertTrue(table.contains("1 unreadable"), table);
    }

    static int indexOf(Predictions p, String key) {
        for (int i = 0; i < p.size(); ++i) if (p.key(i).equals(key)) return i;
        throw new AssertionError(key);
    }

    @Test
    void strictFailsOnAnUnreadableImage() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + colorFolder());
        Evaluator ev = Evaluator.builder().batchSize(5).workers(1).size(32).strict(true).build();
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> ev.run(TestClassifiers.dominantChannel(3, 2, 1, 0), ds));
        assertTrue(e.getMessage().contains("broken.JPEG"), e.getMessage());
    }

    @Test
    void aModelWithFewerClassesThanTheDatasetIsRefused() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + colorFolder());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Evaluator.builder().size(32).build().run(TestClassifiers.dominantChannel(2, 0, 1, 1), ds));
        assertTrue(e.getMessage().contains("3 classes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Evaluator.builder().device("gpu"));
        assertThrows(IllegalArgumentException.class, () -> Evaluator.builder().size(224).resize(200).build());
    }

    /**
     * ImageNetV2's folders 0..12: folder 10 is class 10 (an ImageFolder would make it class 2). Image gray level
     * 20 c + 10 encodes class c; the model reads it back, so every image is right as ImageNetV2 and only folders 0
     * and 1 (the same position in both orders) are right when the folders are read in name order.
     */
    @Test
    void imagenetV2FolderNumbersAreClassIndices() throws IOException {
        Path root = tmp.resolve("imagenetv2-matched-frequency");
        for (int c = 0; c <= 12; ++c) {
            int g = 20 * c + 10;
            jpeg(root.resolve(Integer.toString(c)).resolve(Integer.toHexString(0xabc00 + c) + ".jpeg"), 80, 60,
                    (x, y) -> g << 16 | g << 8 | g);
        }
        Dataset v2 = Datasets.open("imagenetv2:" + root);
        assertEquals(13, v2.classes().size());
        Evaluator ev = Evaluator.builder().batchSize(5).workers(2).size(32).build();
        Evaluator.Run run = ev.run(TestClassifiers.grayLevel(13), v2);
        Predictions p = run.predictions();
        for (int i = 0; i < p.size(); ++i) {
            int folder = Integer.parseInt(p.key(i).substring(0, p.key(i).indexOf('/')));
            assertEquals(folder, p.label(i), p.key(i));
            assertEquals(folder, p.top1(i), p.key(i));
        }
        assertEquals(10, p.label(indexOf(p, "10/" + Integer.toHexString(0xabc00 + 10))));
        Metrics.Accuracy a = Metrics.accuracy(p);
        assertEquals(13, a.n());
        assertEquals(13, a.top1Correct());

        Dataset byName = Datasets.open("imagefolder:" + root);
        Metrics.Accuracy wrongOrder = Metrics.accuracy(ev.run(TestClassifiers.grayLevel(13), byName).predictions());
        assertEquals(2, wrongOrder.top1Correct());
    }
}
