package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;

/** `relabel data check` and `relabel data preview` on a dataset written by the test. */
class DataCliTest {
    @TempDir
    Path tmp;

    Path root;

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeEach
    void dataset() throws IOException {
        root = tmp.resolve("data");
        String[] classes = {"apple", "banana"};
        for (int c = 0; c < 2; ++c) {
            Path dir = Files.createDirectories(root.resolve(classes[c]));
            for (int i = 0; i < 3; ++i) {
                final int cc = c;
                Files.write(dir.resolve("img" + i + ".jpg"), TestImages.jpeg(90 + 10 * i, 70, (x, y) -> (cc * 200 << 16) | (x << 8) | y));
            }
        }
    }

    private Path store(String... keys) throws IOException {
        Path out = tmp.resolve("maps.rlm");
        MapFormat f = new MapFormat(2, 1, 2, 2, DType.FLOAT16, DType.UINT16);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            for (String k : keys) w.append(k, new float[] {5, 5, 5, 5}, new int[] {k.startsWith("apple") ? 0 : 1, 0, 0, 1});
            w.finish();
        }
        return out;
    }

    @Test
    void checkCountsAndFindsProblems() throws IOException {
        Run ok = relabel("data", "check", "--data", root.toString());
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertTrue(ok.out().contains("samples:   6 in 2 classes (3 to 3 per class)"), ok.out());
        assertTrue(ok.out().contains("unreadable: 0"), ok.out());

        Files.write(root.resolve("banana").resolve("bad.jpg"), "not an image".getBytes());
        Path maps = store("apple/img0", "apple/img1", "apple/img2", "banana/img0", "banana/img1", "banana/img2", "cherry/x");
        Run bad = relabel("data", "check", "--data", root.toString(), "--labelmaps", maps.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, bad.code(), bad.out());
        assertTrue(bad.out().contains("unreadable: 1") && bad.out().contains("bad.jpg"), bad.out());
        assertTrue(bad.out().contains("samples without a label map: 1") && bad.out().contains("  banana/bad"), bad.out());
        assertTrue(bad.out().contains("label maps without a sample: 1") && bad.out().contains("  cherry/x"), bad.out());
    }

    @Test
    void previewWritesACaptionedGrid() throws IOException {
        Path maps = store("apple/img0", "apple/img1", "apple/img2", "banana/img0", "banana/img1", "banana/img2");
        Path png = tmp.resolve("out/grid.png");
        Run r = relabel("data", "preview", "--data", root.toString(), "--labelmaps", maps.toString(), "--n", "6",
                "--size", "64", "--out", png.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(3 * 64, img.getWidth());
        assertEquals(2 * (64 + 56), img.getHeight());
        Run badN = relabel("data", "preview", "--data", root.toString(), "--n", "0", "--out", png.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, badN.code());
        assertTrue(badN.err().contains("--n must be in [1, 1024], got 0"), badN.err());
        Run missing = relabel("data", "check", "--data", tmp.resolve("nope").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, missing.code());
        assertTrue(missing.err().contains("nope"), missing.err());
    }

    @Test
    void benchHoldsTheStoreAsTrainingWould() throws IOException {
        Path maps = store("apple/img0", "apple/img1", "apple/img2", "banana/img0", "banana/img1", "banana/img2");
        String[] base = {"data", "bench", "--data", root.toString(), "--labelmaps", maps.toString(), "--epochs", "1",
                "--batch", "3", "--size", "32"};
        Run auto = relabel(base);  // default auto: a 6-record store fits 1/8 of any machine's available memory
        assertEquals(0, auto.code(), auto.out() + auto.err());
        assertTrue(auto.out().contains("\"residency\": \"ram\"") && auto.out().contains("\"images\": 6"), auto.out());
        Run mapped = relabel(concat(base, "--residency", "mapped"));
        assertEquals(0, mapped.code(), mapped.out() + mapped.err());
        assertTrue(mapped.out().contains("\"residency\": \"mapped\""), mapped.out());
        Run bad = relabel(concat(base, "--residency", "disk"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("store residency 'disk': expected mapped, mapped-readahead, ram or auto"), bad.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
