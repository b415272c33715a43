package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Dimension;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.annotate.AnnotateTesting;
import org.relabel4j.annotate.LabelMapFigure;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.Models;
import org.relabel4j.model.ModuleClassifier;
import org.relabel4j.model.StateDicts;

/** `relabel annotate` then `relabel show`, end to end through the CLI; shards + merge; bad input. */
class AnnotateCliTest {
    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    static Path images, checkpoint;
    static ModuleClassifier teacher;
    static Dataset dataset;

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void setUp() throws IOException {
        Torch.init();
        images = data.resolve("images");
        AnnotateTesting.writeImages(images, 12);
        dataset = Datasets.open("imagefolder:" + images);
        // Three classes, as the dataset: the store then records the dataset's class names.
        teacher = Models.create("small_cnn", 3, ModelOptions.defaults().withSeed(3L));
        checkpoint = data.resolve("teacher.pth");
        StateDicts.save(teacher, checkpoint);
    }

    @AfterAll
    static void tearDown() {
        teacher.close();
    }

    String[] annotate(Path out, String... more) {
        String[] base = {"annotate", "--data", "imagefolder:" + images, "--model", "small_cnn", "--checkpoint",
                checkpoint.toString(), "--size", "32", "--k", "2", "--batch", "5", "--workers", "2", "--out", out.toString()};
        java.util.List<String> all = new java.util.ArrayList<>(Arrays.asList(base));
        for (int i = 0; i < more.length; ++i) {
            int at = all.indexOf(more[i]);
            boolean valued = i + 1 < more.length && !more[i + 1].startsWith("--");
            if (at >= 0 && valued) {
                all.set(at + 1, more[++i]);  // overrides the default above
            } else {
                all.add(more[i]);
                if (valued) all.add(more[++i]);
            }
        }
        return all.toArray(String[]::new);
    }

    @Test
    void annotateThenShow() throws IOException {
        Path maps = tmp.resolve("maps.rlm");
        Run r = relabel(annotate(maps));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("annotated 12 images -> " + maps) && r.out().contains("images/s"), r.out());
        assertTrue(r.out().contains("top-k + store:"), r.out());
        try (LabelMapStore store = LabelMapStore.open(maps)) {
            AnnotateTesting.assertStoreMatches(store, dataset, teacher, 32, false);
            assertTrue(store.metadataJson().contains("\"command\":\"relabel annotate"), store.metadataJson());
            assertTrue(store.metadataJson().contains("small_cnn from " + checkpoint.toAbsolutePath()), store.metadataJson());
        }

        // show: the image (40x? px) with the top-2 heatmaps and, for the crop, the bar chart
        Path image = images.resolve("dog/img001.jpg");  // 61 x 43
        Path png = tmp.resolve("fig/show.png");
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--crop", "5,4,40,30",
                "--out", png.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("key dog/img001"), r.out());
        assertTrue(r.out().contains("cat") || r.out().contains("dog") || r.out().contains("fox"), "class names: " + r.out());
        assertTrue(r.out().contains("crop 5,4,40,30 soft target:"), r.out());
        BufferedImage fig = ImageIO.read(png.toFile());
        Dimension want = LabelMapFigure.size(61, 43, 2, true);
        assertEquals(new Dimension(3 * 320 + LabelMapFigure.CHART_WIDTH, 30 + 260), want);  // panels 320 x 226
        assertEquals(want, new Dimension(fig.getWidth(), fig.getHeight()));
        assertFalse(Files.list(png.getParent()).anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));

        // no crop: image + 2 heatmaps; names from a file; the key given explicitly
        Path names = tmp.resolve("names.txt");
        Files.writeString(names, "tabby\nterrier\nred fox\n", StandardCharsets.UTF_8);
        Path png2 = tmp.resolve("plain.png");
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--key", "dog/img001",
                "--classes", names.toString(), "--out", png2.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("tabby") || r.out().contains("terrier") || r.out().contains("red fox"), r.out());
        fig = ImageIO.read(png2.toFile());
        assertEquals(new Dimension(3 * 320, 30 + 226), new Dimension(fig.getWidth(), fig.getHeight()));

        // the crop's target pooled as a run would (--mode/--temperature); bad values exit 2 naming the option
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--crop", "5,4,40,30",
                "--temperature", "0.25", "--out", tmp.resolve("t.png").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        String sharp = r.out().substring(r.out().indexOf("soft target:"));
        assertFalse(sharp.equals(relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--crop",
                "5,4,40,30", "--out", tmp.resolve("t1.png").toString()).out().replaceAll("(?s).*soft target:", "soft target:")),
                "the temperature changes the printed target");
        for (String[] bad : new String[][] {{"--temperature", "0"}, {"--mode", "mean"}}) {
            r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), bad[0], bad[1], "--out",
                    tmp.resolve("bad.png").toString());
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().contains(bad[0]), r.err());
        }

        // an existing store is kept unless --overwrite
        r = relabel(annotate(maps));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains(maps + " exists: pass --overwrite"), r.err());
        r = relabel(annotate(maps, "--overwrite", "--flip"));
        assertEquals(0, r.code(), r.out() + r.err());
        try (LabelMapStore store = LabelMapStore.open(maps)) {
            AnnotateTesting.assertStoreMatches(store, dataset, teacher, 32, true);
        }
    }

    @Test
    void shardsThenStoreMerge() throws IOException {
        Path whole = tmp.resolve("whole.rlm"), merged = tmp.resolve("maps.rlm");
        assertEquals(0, relabel(annotate(whole)).code());
        for (int i = 0; i < 2; ++i) {
            Run r = relabel(annotate(merged, "--shard", i + "/2"));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("annotated 6 images -> " + merged + ".shard-0000" + i + "-of-00002"), r.out());
            assertTrue(r.out().contains("relabel store merge --out " + merged), r.out());
        }
        Run r = relabel("store", "merge", "--out", merged.toString(), merged + ".shard-00000-of-00002",
                merged + ".shard-00001-of-00002");
        assertEquals(0, r.code(), r.out() + r.err());
        try (LabelMapStore a = LabelMapStore.open(whole); LabelMapStore b = LabelMapStore.open(merged)) {
            AnnotateTesting.assertSameMaps(a, b);
        }
        // show finds the class names the parts recorded
        r = relabel("show", "--image", images.resolve("fox/img002.jpg").toString(), "--labelmaps", merged.toString(),
                "--top", "3", "--out", tmp.resolve("m.png").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(java.util.regex.Pattern.compile("class \\d (cat|dog|fox): mean p").matcher(r.out()).find(), r.out());
    }

    @Test
    void badInputIsANamedError() throws IOException {
        Path maps = tmp.resolve("maps.rlm");
        Run r = relabel(annotate(maps, "--score-dtype", "uint8"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--score-dtype must be fp16 or fp32, got 'uint8'"), r.err());
        r = relabel(annotate(maps, "--k", "9"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("k = 9 exceeds the teacher's 3 classes"), r.err());
        r = relabel(annotate(maps, "--shard", "2/2"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("2/2"), r.err());
        r = relabel(annotate(maps, "--device", "tpu"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'tpu'"), r.err());
        r = relabel("annotate", "--data", "imagefolder:" + images, "--model", "resnet18", "--checkpoint",
                tmp.resolve("missing.pth").toString(), "--out", maps.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.pth"), r.err());
        r = relabel("annotate", "--data", "imagefolder:" + images, "--model", "resnet18", "--checkpoint",
                checkpoint.toString(), "--out", maps.toString());
        assertEquals(2, r.code(), "a small_cnn state dict into resnet18");
        assertTrue(r.err().contains("teacher.pth"), r.err());
        assertFalse(Files.exists(maps));
        assertFalse(Files.exists(tmp.resolve("maps.rlm.partial")));

        assertEquals(0, relabel(annotate(maps)).code());
        Path image = images.resolve("cat/img000.jpg");  // 24 x 20
        Path png = tmp.resolve("x.png");
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--crop", "0,0,25,10",
                "--out", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--crop 0,0,25,10 is not a box inside the 24x20 image"), r.err());
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--crop", "1,2,3",
                "--out", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--crop must be x1,y1,x2,y2 (pixels), got '1,2,3'"), r.err());
        Path stranger = tmp.resolve("stranger.jpg");
        Files.copy(image, stranger);
        r = relabel("show", "--image", stranger.toString(), "--labelmaps", maps.toString(), "--out", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no label map for " + stranger) && r.err().contains("--key"), r.err());
        Path names = tmp.resolve("names.txt");
        Files.writeString(names, "one\ntwo\n");
        r = relabel("show", "--image", image.toString(), "--labelmaps", maps.toString(), "--classes", names.toString(),
                "--out", png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("names.txt has 2 class names, the store 3 classes"), r.err());
        r = relabel("show", "--image", tmp.resolve("none.jpg").toString(), "--labelmaps", maps.toString(), "--out",
                png.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("none.jpg"), r.err());
        assertFalse(Files.exists(png));
    }
}
