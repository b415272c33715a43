package org.relabel4j.demo;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Multi-object scenes built from Fashion-MNIST items ({@link SceneSpec}), rendered as gray JPEGs in an ImageFolder
 * whose class folders are {@link FashionMnist#FOLDERS} (the class of each scene's largest item), plus the truth of
 * every item: a {@code scenes.json} side file (classes and ink boxes) and a ReaL-style {@code real.json} (the
 * classes present, in file-name order) that {@code relabel eval --real} reads as multi-label truth.
 */
public final class Scenes {
    /** Ink at or above this (of 255) counts for an item's box. */
    static final int BOX_INK = 32;

    private Scenes() {}

    /**
     * One placed item: its class, source image (index in its split), its square (x, y, side), ink box, and visible
     * ink (sum of ink / 255 over the pixels it shows in: its area in the picture, after overlaps).
     */
    public record Item(int cls, int source, int x, int y, int side, int[] box, float ink) {}

    /** One scene: its index, items by visible ink, descending (the first is the largest: the label), its dataset key. */
    public record Scene(int index, List<Item> items) {
        public int label() {
            return items.get(0).cls();
        }

        public String key() {
            return FashionMnist.FOLDERS.get(label()) + "/" + fileStem(index);
        }

        /** The classes present, ascending. */
        public int[] classes() {
            return items.stream().mapToInt(Item::cls).distinct().sorted().toArray();
        }
    }

    static String fileStem(int index) {
        return String.format("s%07d", index);
    }

    /**
     * Lays out {@code count} scenes with items drawn from {@code pool} (indices into {@code split}), reproducibly
     * from {@code seed}: scene i depends on (seed, i) only.
     */
    public static List<Scene> layout(FashionMnist.Split split, int[] pool, int count, SceneSpec spec, long seed) {
        if (pool.length == 0) throw new IllegalArgumentException("no source items to build scenes from");
        Scene[] out = new Scene[count];
        IntStream.range(0, count).parallel().forEach(i -> out[i] = layoutOne(split, pool, i, spec, seed));
        return List.of(out);
    }

    private static Scene layoutOne(FashionMnist.Split split, int[] pool, int index, SceneSpec spec, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        int n = spec.minItems() + rnd.nextInt(spec.maxItems() - spec.minItems() + 1);
        int lo = (int) Math.round(spec.minScale() * spec.canvas()), hi = (int) Math.round(spec.maxScale() * spec.canvas());
        for (int attempt = 0; attempt <= 10_000; ++attempt) {
            List<Item> items = new ArrayList<>(n);
            boolean ok = true;
            for (int j = 0; j < n && ok; ++j) {
                ok = false;
                int s = lo + rnd.nextInt(hi - lo + 1);
                for (int place = 0; place < 50 && !ok; ++place) {
                    int x = rnd.nextInt(spec.canvas() - s + 1), y = rnd.nextInt(spec.canvas() - s + 1);
                    boolean fits = true;
                    for (Item o : items) {
                        int w = Math.min(x + s, o.x() + o.side()) - Math.max(x, o.x());
                        int h = Math.min(y + s, o.y() + o.side()) - Math.max(y, o.y());
                        if (w > 0 && h > 0 && (double) w * h > spec.maxOverlap() * Math.min(s, o.side()) * Math.min(s, o.side())) {
                            fits = false;
                            break;
                        }
                    }
                    if (!fits) continue;
                    int src = pool[rnd.nextInt(pool.length)];
                    items.add(new Item(split.label(src), src, x, y, s, inkBox(split, src, x, y, s), 0));
                    ok = true;
                }
            }
            if (!ok) continue;
            // the label is the item that shows the most ink (visible, after overlaps); it must lead by the dominance
            Render r = render(split, new Scene(index, items), spec.canvas());
            double[] visible = new double[n];
            for (int p = 0; p < r.ink().length; ++p)
                if (r.owner()[p] >= 0) visible[r.owner()[p]] += r.ink()[p] / 255.0;
            List<Item> sorted = new ArrayList<>(n);
            for (int j = 0; j < n; ++j) {
                Item it = items.get(j);
                sorted.add(new Item(it.cls(), it.source(), it.x(), it.y(), it.side(), it.box(), (float) visible[j]));
            }
            sorted.sort((a, b) -> Float.compare(b.ink(), a.ink()));
            if (n > 1 && !(sorted.get(0).ink() > sorted.get(1).ink()
                    && sorted.get(0).ink() >= spec.dominance() * sorted.get(1).ink())) continue;
            return new Scene(index, List.copyOf(sorted));
        }
        throw new IllegalArgumentException("cannot build a scene of " + n + " items (" + spec.describe()
                + ") in 10,000 tries: lower --items, --scale or --dominance, or raise --max-overlap");
    }

    private static int[] inkBox(FashionMnist.Split split, int src, int x, int y, int s) {
        float[] v = renderItem(split, src, s);
        int x1 = s, y1 = s, x2 = -1, y2 = -1;
        for (int py = 0; py < s; ++py)
            for (int px = 0; px < s; ++px)
                if (v[py * s + px] >= BOX_INK) {
                    x1 = Math.min(x1, px);
                    y1 = Math.min(y1, py);
                    x2 = Math.max(x2, px);
                    y2 = Math.max(y2, py);
                }
        if (x2 < 0) return new int[] {x, y, x + s, y + s};
        return new int[] {x + x1, y + y1, x + x2 + 1, y + y2 + 1};
    }

    /** The item resized to side x side (3x3 supersampled bilinear: antialiased when shrinking), ink 0-255. */
    static float[] renderItem(FashionMnist.Split split, int src, int side) {
        float[] out = new float[side * side];
        int rows = split.rows(), cols = split.cols();
        double sx = (double) cols / side, sy = (double) rows / side;
        for (int py = 0; py < side; ++py)
            for (int px = 0; px < side; ++px) {
                double acc = 0;
                for (int a = 0; a < 3; ++a)
                    for (int b = 0; b < 3; ++b) {
                        double fx = (px + (b + 0.5) / 3) * sx - 0.5, fy = (py + (a + 0.5) / 3) * sy - 0.5;
                        acc += bilinear(split, src, fx, fy);
                    }
                out[py * side + px] = (float) (acc / 9);
            }
        return out;
    }

    private static double bilinear(FashionMnist.Split split, int src, double fx, double fy) {
        int x0 = (int) Math.floor(fx), y0 = (int) Math.floor(fy);
        double ax = fx - x0, ay = fy - y0;
        return (1 - ay) * ((1 - ax) * ink(split, src, x0, y0) + ax * ink(split, src, x0 + 1, y0))
                + ay * ((1 - ax) * ink(split, src, x0, y0 + 1) + ax * ink(split, src, x0 + 1, y0 + 1));
    }

    private static int ink(FashionMnist.Split split, int src, int x, int y) {
        if (x < 0 || y < 0 || x >= split.cols() || y >= split.rows()) return 0;
        return split.ink(src, x, y);
    }

    /** A rendered scene: ink 0-255 per pixel and which item (index into the scene's items, -1: none) shows there. */
    public record Render(int canvas, float[] ink, int[] owner) {}

    public static Render render(FashionMnist.Split split, Scene scene, int canvas) {
        float[] ink = new float[canvas * canvas];
        int[] owner = new int[canvas * canvas];
        Arrays.fill(owner, -1);
        // drawn in a canonical order (not the list's), so that ties resolve the same whichever order the list has
        Integer[] order = new Integer[scene.items().size()];
        for (int j = 0; j < order.length; ++j) order[j] = j;
        Arrays.sort(order, java.util.Comparator.comparingInt((Integer j) -> scene.items().get(j).x())
                .thenComparingInt(j -> scene.items().get(j).y()).thenComparingInt(j -> scene.items().get(j).side())
                .thenComparingInt(j -> scene.items().get(j).source()));
        for (int j : order) {
            Item it = scene.items().get(j);
            float[] v = renderItem(split, it.source(), it.side());
            for (int py = 0; py < it.side(); ++py)
                for (int px = 0; px < it.side(); ++px) {
                    float a = v[py * it.side() + px];
                    int p = (it.y() + py) * canvas + it.x() + px;
                    if (a > ink[p]) {
                        ink[p] = a;
                        owner[p] = j;
                    }
                }
        }
        return new Render(canvas, ink, owner);
    }

    /**
     * Oracle label map of a rendered scene on a grid x grid map: cell value for class c = the fraction of the cell's
     * area covered by visible ink of class-c items (ink / 255, each pixel to the item that shows there), times
     * {@code scale}. Returns [classes][grid][grid] flat.
     */
    public static float[] inkMap(Render r, Scene scene, int classes, int grid, float scale) {
        float[] map = new float[classes * grid * grid];
        int[] area = new int[grid * grid];
        int c = r.canvas();
        for (int y = 0; y < c; ++y)
            for (int x = 0; x < c; ++x) {
                int cell = (int) ((long) y * grid / c) * grid + (int) ((long) x * grid / c);
                ++area[cell];
                int o = r.owner()[y * c + x];
                if (o >= 0) map[scene.items().get(o).cls() * grid * grid + cell] += r.ink()[y * c + x] / 255f;
            }
        for (int k = 0; k < classes; ++k)
            for (int cell = 0; cell < grid * grid; ++cell) map[k * grid * grid + cell] *= scale / area[cell];
        return map;
    }

    /**
     * Writes the scenes under {@code dir} as {@code <folder of label>/s<index>.jpg} (JPEG quality 95, RGB gray), and
     * {@code sideFile} (every item) and {@code realFile} (classes present, file-name order). Parallel over scenes.
     */
    public static void write(FashionMnist.Split split, List<Scene> scenes, SceneSpec spec, Path dir, Path sideFile,
            Path realFile) throws IOException {
        for (String f : FashionMnist.FOLDERS) Files.createDirectories(dir.resolve(f));
        try {
            scenes.parallelStream().forEach(s -> {
                Render r = render(split, s, spec.canvas());
                try {
                    writeJpeg(r, dir.resolve(s.key() + ".jpg"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        JsonFactory jf = new JsonFactory();
        try (OutputStream os = Files.newOutputStream(sideFile);
             JsonGenerator g = jf.createGenerator(os, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("source", "fashion-mnist " + split.name());
            g.writeStringField("spec", spec.describe());
            g.writeArrayFieldStart("classes");
            for (String n : FashionMnist.CLASSES) g.writeString(n);
            g.writeEndArray();
            g.writeArrayFieldStart("scenes");
            for (Scene s : scenes) {
                g.writeStartObject();
                g.writeStringField("key", s.key());
                g.writeNumberField("label", s.label());
                g.writeArrayFieldStart("items");
                for (Item it : s.items()) {
                    g.writeStartObject();
                    g.writeNumberField("class", it.cls());
                    g.writeStringField("name", FashionMnist.CLASSES.get(it.cls()));
                    g.writeFieldName("box");
                    g.writeArray(it.box(), 0, 4);
                    g.writeNumberField("side", it.side());
                    g.writeNumberField("visible_ink", Math.round(it.ink() * 10) / 10.0);
                    g.writeNumberField("source", it.source());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        // real.json: file names s<index> sort in index order
        TreeSet<String> names = new TreeSet<>();
        for (Scene s : scenes) names.add(fileStem(s.index()));
        if (names.size() != scenes.size()) throw new IllegalStateException("scene indices are not unique");
        List<Scene> sorted = new ArrayList<>(scenes);
        sorted.sort((a, b) -> fileStem(a.index()).compareTo(fileStem(b.index())));
        try (OutputStream os = Files.newOutputStream(realFile);
             JsonGenerator g = jf.createGenerator(os, JsonEncoding.UTF8)) {
            g.writeStartArray();
            for (Scene s : sorted) {
                int[] c = s.classes();
                g.writeArray(c, 0, c.length);
            }
            g.writeEndArray();
        }
    }

    static void writeJpeg(Render r, Path file) throws IOException {
        int c = r.canvas();
        BufferedImage img = new BufferedImage(c, c, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < c; ++y)
            for (int x = 0; x < c; ++x) {
                int v = Math.min(255, Math.round(r.ink()[y * c + x]));
                img.setRGB(x, y, v << 16 | v << 8 | v);
            }
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (OutputStream os = Files.newOutputStream(file); ImageOutputStream out = ImageIO.createImageOutputStream(os)) {
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(0.95f);
            w.setOutput(out);
            w.write(null, new IIOImage(img, null, null), p);
        } finally {
            w.dispose();
        }
    }
}
