package org.relabel4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.relabel4j.annotate.LabelMapFigure;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.data.image.DecodedImage;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel show}: an image with its label map's top class heatmaps and, for a crop, its soft target. */
@Command(name = "show", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Draws an image's label map as the ReLabel paper does: the image, the image with the heatmap of "
                + "each of its top classes overlaid (per cell, the class's probability under the softmax of the "
                + "cell's top-k), and for --crop the crop's pooled soft target (LabelPooling, softmax) as a bar chart.",
                "The map is the one stored under --key, else under the longest trailing part of the image path "
                        + "(without extension) that is a key of the store."})
final class ShowCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--image", required = true, paramLabel = "x.jpg", description = "the image (JPEG, PNG, ...)")
    Path image;

    @Option(names = "--labelmaps", required = true, paramLabel = "maps.rlm", description = "label-map store")
    Path labelmaps;

    @Option(names = "--key", paramLabel = "KEY", description = "the image's key in the store (default: from the path)")
    String key;

    @Option(names = "--crop", paramLabel = "x1,y1,x2,y2",
            description = "a crop in pixels of the image (x2, y2 exclusive): draw it and its soft target")
    String crop;

    @Option(names = "--classes", paramLabel = "names.txt",
            description = "class names, one per line, index = line (default: the store's, else class numbers)")
    Path classes;

    @Option(names = "--top", defaultValue = "2", description = "class heatmaps (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--bars", defaultValue = "5",
            description = "classes in the crop's bar chart (default: ${DEFAULT-VALUE})")
    int bars;

    @Option(names = "--mode", defaultValue = "logits", paramLabel = "logits|probs",
            description = "how the crop's target is pooled, as data.relabel.mode (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--temperature", defaultValue = "1", paramLabel = "T",
            description = "softmax temperature of the crop's target, as data.relabel.temperature (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--out", required = true, paramLabel = "x.png", description = "output PNG (written atomically)")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (top < 1 || top > 8) throw new IllegalArgumentException("--top must be in [1, 8], got " + top);
        if (bars < 1 || bars > 30) throw new IllegalArgumentException("--bars must be in [1, 30], got " + bars);
        LabelPooling.Mode poolMode = switch (mode) {
            case "logits" -> LabelPooling.Mode.LOGITS;
            case "probs" -> LabelPooling.Mode.PROBS;
            default -> throw new IllegalArgumentException("--mode must be logits or probs, got '" + mode + "'");
        };
        if (!(temperature > 0 && Float.isFinite(temperature)))
            throw new IllegalArgumentException("--temperature must be > 0, got " + temperature);
        FileArgs.of().in("--image", image).in("--labelmaps", labelmaps).in("--classes", classes).out("--out", out).check();
        byte[] encoded = Files.readAllBytes(image);
        ImageDecoder decoder = new ImageDecoder();
        Dims dims = decoder.probe(encoded, image.toString());
        float[] box = crop == null ? null : parseCrop(crop, dims.width(), dims.height());
        try (LabelMapStore store = LabelMapStore.open(labelmaps)) {
            String k = key != null ? key : keyOf(store, image);
            LabelMap map = store.map(store.require(k));
            List<String> names = classes != null ? EvalCommand.readNames(classes) : storeNames(store);
            if (names != null && names.size() < store.format().classes())
                throw new IllegalArgumentException((classes != null ? classes.toString() : labelmaps + " (class_names)")
                        + " has " + names.size() + " class names, the store " + store.format().classes() + " classes");
            // Decoded reduced when large: the figure shows it at most PANEL pixels wide.
            int reduction = ImageDecoder.reductionFor(dims.width(), dims.height(), LabelMapFigure.PANEL,
                    LabelMapFigure.PANEL);
            BufferedImage picture;
            try (DecodedImage d = decoder.decode(encoded, reduction, image.toString())) {
                picture = toImage(d);
            }
            LabelMapFigure.Options o = LabelMapFigure.Options.defaults().withHeatmaps(top).withBars(bars)
                    .withClassNames(names).withCrop(box).withPooling(poolMode, temperature);
            BufferedImage figure = LabelMapFigure.render(picture, dims.width(), dims.height(), map, o);
            LabelMapFigure.writePng(figure, out);
            PrintWriter w = spec.commandLine().getOut();
            w.printf("wrote %s (%dx%d): key %s, map %s%n", out, figure.getWidth(), figure.getHeight(), k, map.format());
            for (LabelMapFigure.ClassValue c : LabelMapFigure.topClasses(map, top))
                w.printf(Locale.ROOT, "  class %d %s: mean p %.3f%n", c.classId(), name(names, c.classId()), c.value());
            if (box != null) {
                w.printf(Locale.ROOT, "  crop %s soft target:", crop);
                for (LabelMapFigure.ClassValue c : LabelMapFigure.top(LabelMapFigure.cropTarget(map, box, poolMode, temperature), bars))
                    w.printf(Locale.ROOT, " %d %s %.3f;", c.classId(), name(names, c.classId()), c.value());
                w.println();
            }
            w.flush();
        }
        return 0;
    }

    private static String name(List<String> names, int c) {
        return names != null && c < names.size() ? names.get(c) : "";
    }

    /** "x1,y1,x2,y2" in pixels of a w x h image, as (x1, y1, x2, y2) normalized; errors name the value. */
    static float[] parseCrop(String s, int w, int h) {
        String[] p = s.split(",");
        double[] v = new double[4];
        try {
            if (p.length != 4) throw new NumberFormatException();
            for (int i = 0; i < 4; ++i) v[i] = Double.parseDouble(p[i].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--crop must be x1,y1,x2,y2 (pixels), got '" + s + "'");
        }
        for (double d : v) {
            if (!Double.isFinite(d))
                throw new IllegalArgumentException("--crop must be x1,y1,x2,y2 (pixels), got '" + s + "'");
        }
        if (!(v[0] >= 0 && v[1] >= 0 && v[2] <= w && v[3] <= h && v[0] < v[2] && v[1] < v[3]))
            throw new IllegalArgumentException("--crop " + s + " is not a box inside the " + w + "x" + h + " image "
                    + "(need 0 <= x1 < x2 <= " + w + ", 0 <= y1 < y2 <= " + h + ")");
        return new float[] {(float) (v[0] / w), (float) (v[1] / h), (float) (v[2] / w), (float) (v[3] / h)};
    }

    /**
     * The store key of an image file: the longest trailing part of its path, without the extension, that the store
     * holds (a dataset's keys are paths relative to its root: {@code n01440764/n01440764_10026}).
     */
    static String keyOf(LabelMapStore store, Path image) {
        Path p = image.toAbsolutePath().normalize();
        String file = p.getFileName().toString();
        int dot = file.lastIndexOf('.');
        String stem = dot > 0 ? file.substring(0, dot) : file;
        List<String> tried = new ArrayList<>();
        String best = null, candidate = stem;
        Path dir = p.getParent();
        while (true) {
            tried.add(candidate);
            if (store.find(candidate) >= 0) best = candidate;
            if (dir == null || dir.getFileName() == null) break;
            candidate = dir.getFileName() + "/" + candidate;
            dir = dir.getParent();
        }
        if (best == null)
            throw new IllegalArgumentException(store.path() + ": no label map for " + image + " (tried keys "
                    + String.join(", ", tried.subList(0, Math.min(4, tried.size()))) + (tried.size() > 4 ? ", ..." : "")
                    + "); give its key with --key");
        return best;
    }

    /**
     * The class names the annotator recorded (when the dataset's classes were the teacher's), also through a merged
     * store's {@code parts_metadata}; or null.
     */
    static List<String> storeNames(LabelMapStore store) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode meta = json.readTree(store.metadataJson()), names = meta.path("class_names");
        if (names.isMissingNode() && meta.path("parts_metadata").isTextual())
            names = json.readTree(meta.path("parts_metadata").asText()).path("class_names");
        if (!names.isArray() || names.size() != store.format().classes()) return null;
        List<String> out = new ArrayList<>();
        names.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static BufferedImage toImage(DecodedImage d) {
        byte[] rgb = d.toRgbBytes();
        int w = d.width(), h = d.height();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                int i = (y * w + x) * 3;
                row[x] = ((rgb[i] & 255) << 16) | ((rgb[i + 1] & 255) << 8) | (rgb[i + 2] & 255);
            }
            img.setRGB(0, y, w, 1, row, 0, w);
        }
        return img;
    }
}
