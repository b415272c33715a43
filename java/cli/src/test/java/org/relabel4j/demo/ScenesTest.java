package org.relabel4j.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.ImageFolder;
import org.relabel4j.eval.Predictions;
import org.relabel4j.eval.RealLabels;

/** Scene layout, rendering, oracle ink maps and the written dataset, on synthetic square "items". */
class ScenesTest {
    @TempDir
    Path tmp;

    /** 30 items of 28x28: item i has class i % 10 and a full-ink square [6, 22) x [6, 22). */
    static FashionMnist.Split squares() {
        int n = 30;
        byte[] px = new byte[n * 28 * 28], lab = new byte[n];
        for (int i = 0; i < n; ++i) {
            lab[i] = (byte) (i % 10);
            for (int y = 6; y < 22; ++y)
                for (int x = 6; x < 22; ++x) px[(i * 28 + y) * 28 + x] = (byte) 255;
        }
        return new FashionMnist.Split("train", n, 28, 28, px, lab);
    }

    static final int[] POOL = IntStream.range(0, 30).toArray();

    @Test
    void layoutFollowsTheSpecAndIsReproducible() {
        SceneSpec spec = new SceneSpec(48, 2, 4, 0.25, 0.625, 0.3, 1.2);
        List<Scenes.Scene> a = Scenes.layout(squares(), POOL, 300, spec, 7);
        assertEquals(describe(a), describe(Scenes.layout(squares(), POOL, 300, spec, 7)));
        // scene i depends on (seed, i) only: a shorter layout is a prefix; another seed gives other scenes
        assertEquals(describe(a.subList(0, 20)), describe(Scenes.layout(squares(), POOL, 20, spec, 7)));
        assertNotEquals(describe(a.subList(0, 20)), describe(Scenes.layout(squares(), POOL, 20, spec, 8)));
        int[] counts = new int[5];
        for (Scenes.Scene s : a) {
            int n = s.items().size();
            ++counts[n];
            assertTrue(n >= 2 && n <= 4);
            Scenes.Item first = s.items().get(0);
            assertEquals(first.cls(), s.label());
            for (Scenes.Item it : s.items()) {
                assertTrue(it.side() >= 12 && it.side() <= 30, "side " + it.side());
                assertTrue(it.x() >= 0 && it.y() >= 0 && it.x() + it.side() <= 48 && it.y() + it.side() <= 48);
                // the square's ink box: [6, 22) of 28 scaled to the side
                assertTrue(it.box()[0] >= it.x() && it.box()[2] <= it.x() + it.side() && it.box()[2] > it.box()[0]);
                if (it != first) assertTrue(first.ink() >= 1.2 * it.ink(), first.ink() + " vs " + it.ink());
                for (Scenes.Item o : s.items()) {
                    if (o == it) continue;
                    int w = Math.min(it.x() + it.side(), o.x() + o.side()) - Math.max(it.x(), o.x());
                    int h = Math.min(it.y() + it.side(), o.y() + o.side()) - Math.max(it.y(), o.y());
                    int small = Math.min(it.side(), o.side());
                    assertTrue(w <= 0 || h <= 0 || w * h <= 0.3 * small * small, "overlap " + w + "x" + h);
                }
            }
            assertEquals(s.key(), FashionMnist.FOLDERS.get(s.label()) + "/s" + String.format("%07d", s.index()));
        }
        assertTrue(counts[2] > 50 && counts[3] > 50 && counts[4] > 50, java.util.Arrays.toString(counts));
    }

    static String describe(List<Scenes.Scene> scenes) {
        StringBuilder b = new StringBuilder();
        for (Scenes.Scene s : scenes)
            for (Scenes.Item it : s.items())
                b.append(s.index()).append(':').append(it.cls()).append(',').append(it.source()).append(',').append(it.x())
                        .append(',').append(it.y()).append(',').append(it.side()).append(java.util.Arrays.toString(it.box()))
                        .append(it.ink()).append(';');
        return b.toString();
    }

    @Test
    void inkMapAccountsForEveryVisiblePixel() {
        FashionMnist.Split split = squares();
        for (Scenes.Scene s : Scenes.layout(split, POOL, 20, SceneSpec.defaults(), 3)) {
            Scenes.Render r = Scenes.render(split, s, 48);
            int grid = 12;
            float[] map = Scenes.inkMap(r, s, 10, grid, 30f);
            double fromMap = 0, fromPixels = 0;
            for (int c = 0; c < 10; ++c)
                for (int cell = 0; cell < grid * grid; ++cell) {
                    float v = map[c * grid * grid + cell];
                    assertTrue(v >= 0 && v <= 30.0001f, "cell value " + v);
                    final int cls = c;
                    if (v > 0) assertTrue(IntStream.of(s.classes()).anyMatch(k -> k == cls), "class " + c + " not in the scene");
                    fromMap += v / 30.0 * 16;  // 4x4 pixels per cell
                }
            for (int p = 0; p < 48 * 48; ++p) {
                if (r.owner()[p] >= 0) fromPixels += r.ink()[p] / 255.0;
                else assertEquals(0f, r.ink()[p]);
            }
            assertEquals(fromPixels, fromMap, 1e-3 * fromPixels);
            // items are ordered by the ink they show; the first (the label) shows the most
            double[] visible = new double[s.items().size()];
            for (int p = 0; p < 48 * 48; ++p)
                if (r.owner()[p] >= 0) visible[r.owner()[p]] += r.ink()[p] / 255.0;
            for (int j = 0; j < visible.length; ++j) {
                assertEquals(visible[j], s.items().get(j).ink(), 1e-2, "item " + j);
                if (j > 0) assertTrue(visible[0] > visible[j], java.util.Arrays.toString(visible));
            }
            // the largest item is drawn: some pixel belongs to it, inside its box
            Scenes.Item first = s.items().get(0);
            int[] b = first.box();
            assertTrue(r.owner()[(b[1] + b[3]) / 2 * 48 + (b[0] + b[2]) / 2] >= 0);
        }
    }

    @Test
    void writesAnImageFolderWithItsTruth() throws IOException {
        FashionMnist.Split split = squares();
        SceneSpec spec = SceneSpec.defaults();
        List<Scenes.Scene> scenes = Scenes.layout(split, POOL, 40, spec, 5);
        Path dir = tmp.resolve("val");
        Scenes.write(split, scenes, spec, dir, tmp.resolve("val.scenes.json"), tmp.resolve("val.real.json"));
        ImageFolder f = ImageFolder.open(dir);
        assertEquals(FashionMnist.FOLDERS, f.classes());
        assertEquals(40, f.size());
        for (int i = 0; i < f.size(); ++i) {
            String key = f.sample(i).key();
            Scenes.Scene s = scenes.stream().filter(x -> x.key().equals(key)).findFirst().orElseThrow();
            assertEquals(s.label(), f.sample(i).label());
        }
        // the JPEG shows the rendered scene
        Scenes.Scene s0 = scenes.get(0);
        BufferedImage img = ImageIO.read(dir.resolve(s0.key() + ".jpg").toFile());
        Scenes.Render r = Scenes.render(split, s0, 48);
        double err = 0;
        for (int y = 0; y < 48; ++y)
            for (int x = 0; x < 48; ++x) err += Math.abs(((img.getRGB(x, y) >> 8) & 255) - r.ink()[y * 48 + x]);
        assertTrue(err / (48 * 48) < 4, "mean abs JPEG error " + err / (48 * 48));
        // real.json aligns with the dataset by file name and lists the classes present
        RealLabels real = RealLabels.load(tmp.resolve("val.real.json"));
        int[] order = real.align(Predictions.builder(f, 1).build());
        for (int i = 0; i < f.size(); ++i) {
            String key = f.sample(i).key();
            Scenes.Scene s = scenes.stream().filter(x -> x.key().equals(key)).findFirst().orElseThrow();
            assertArrayEquals(s.classes(), real.labels(order[i]), key);
        }
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("val.scenes.json").toFile());
        assertEquals(40, side.get("scenes").size());
        JsonNode item = side.get("scenes").get(0).get("items").get(0);
        assertEquals(s0.items().get(0).cls(), item.get("class").asInt());
        assertEquals(FashionMnist.CLASSES.get(s0.items().get(0).cls()), item.get("name").asText());
        assertEquals(4, item.get("box").size());
    }

    @Test
    void badSpecsNameTheOption() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SceneSpec(48, 3, 2, 0.25, 0.5, 0.5, 1))
                .getMessage().contains("--items"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SceneSpec(48, 2, 4, 0.6, 0.5, 0.5, 1))
                .getMessage().contains("--scale"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SceneSpec(48, 2, 4, 0.3, 0.5, 0.5, 0.5))
                .getMessage().contains("--dominance"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SceneSpec(8, 2, 4, 0.3, 0.5, 0.5, 1))
                .getMessage().contains("--canvas"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SceneSpec.range("--items", "2to4"))
                .getMessage().contains("'2to4'"));
        // impossible placements: a clear error, not a hang
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scenes.layout(squares(), POOL, 1,
                new SceneSpec(48, 16, 16, 0.9, 1.0, 0.0, 1), 1));
        assertTrue(e.getMessage().contains("cannot build a scene"), e.getMessage());
    }
}
