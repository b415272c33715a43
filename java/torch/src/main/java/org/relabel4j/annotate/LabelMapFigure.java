package org.relabel4j.annotate;

import org.relabel4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMap;

/**
 * The label-map figure of {@code relabel show} (as the ReLabel paper draws label maps): the image, then for each
 * of the image's top classes the image with that class's heatmap overlaid, and, for a crop, the crop's pooled soft
 * target (LabelPooling, softmax) as a bar chart.
 *
 * <p>A class's heatmap is, per cell, its probability under the softmax of the cell's top-k scores (0 where it is
 * not among them), upsampled bilinearly to the image; the top classes are those with the highest mean of that
 * probability over the cells. Layout: each image panel is the image scaled so that its longer side is
 * {@link #PANEL} pixels; panels side by side below a {@link #TITLE}-pixel title strip; the chart panel is
 * {@link #CHART_WIDTH} wide and at least {@link #MIN_CHART_HEIGHT} high ({@link #size}).
 */
public final class LabelMapFigure {
    /** Longer side of an image panel. */
    public static final int PANEL = 320;
    /** Height of the title strip above the panels. */
    public static final int TITLE = 30;
    /** Width of the chart panel. */
    public static final int CHART_WIDTH = 440;
    /** Smallest height of the chart panel. */
    public static final int MIN_CHART_HEIGHT = 260;

    private LabelMapFigure() {}

    /** A class and a value (mean probability over the cells, or a soft-target entry). */
    public record ClassValue(int classId, double value) {}

    /**
     * What to draw: {@code heatmaps} top classes (at least 1), class names (index = class id; null: "class N"),
     * the crop as (x1, y1, x2, y2) normalized to the image (null: none) and the number of bars of its target.
     */
    public record Options(int heatmaps, List<String> classNames, float[] crop, int bars, LabelPooling.Mode mode,
            float temperature) {
        public Options {
            if (heatmaps < 1 || heatmaps > 8)
                throw new IllegalArgumentException("heatmaps must be in [1, 8], got " + heatmaps);
            if (bars < 1 || bars > 30) throw new IllegalArgumentException("bars must be in [1, 30], got " + bars);
            if (crop != null) {
                if (crop.length != 4 || !(crop[0] >= 0 && crop[1] >= 0 && crop[2] <= 1 && crop[3] <= 1
                        && crop[0] < crop[2] && crop[1] < crop[3]))
                    throw new IllegalArgumentException("crop must be (x1, y1, x2, y2) with 0 <= x1 < x2 <= 1 and "
                            + "0 <= y1 < y2 <= 1, got " + java.util.Arrays.toString(crop));
            }
            java.util.Objects.requireNonNull(mode, "mode");
            if (!(temperature > 0 && Float.isFinite(temperature)))
                throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }

        /** The top-2 heatmaps (as the paper), no names, no crop, 5 bars, the crop pooled in logits mode at T = 1. */
        public static Options defaults() {
            return new Options(2, null, null, 5, LabelPooling.Mode.LOGITS, 1f);
        }

        public Options withClassNames(List<String> names) {
            return new Options(heatmaps, names, crop, bars, mode, temperature);
        }

        public Options withCrop(float[] box) {
            return new Options(heatmaps, classNames, box, bars, mode, temperature);
        }

        public Options withHeatmaps(int n) {
            return new Options(n, classNames, crop, bars, mode, temperature);
        }

        public Options withBars(int n) {
            return new Options(heatmaps, classNames, crop, n, mode, temperature);
        }

        /** How the crop's target is pooled: as a training run with these data.relabel.mode/temperature would. */
        public Options withPooling(LabelPooling.Mode m, float t) {
            return new Options(heatmaps, classNames, crop, bars, m, t);
        }
    }

    private static final java.util.Comparator<ClassValue> HIGHEST_FIRST = (a, b) -> a.value() != b.value()
            ? Double.compare(b.value(), a.value()) : Integer.compare(a.classId(), b.classId());

    /** Size of an image panel for an image of w x h. */
    public static Dimension panel(int imageWidth, int imageHeight) {
        double scale = (double) PANEL / Math.max(imageWidth, imageHeight);
        return new Dimension(Math.max(1, (int) Math.round(imageWidth * scale)),
                Math.max(1, (int) Math.round(imageHeight * scale)));
    }

    /** Size of the figure: (1 + heatmaps) image panels, plus the chart panel when there is a crop. */
    public static Dimension size(int imageWidth, int imageHeight, int heatmaps, boolean crop) {
        Dimension p = panel(imageWidth, imageHeight);
        return new Dimension((1 + heatmaps) * p.width + (crop ? CHART_WIDTH : 0),
                TITLE + Math.max(p.height, crop ? MIN_CHART_HEIGHT : 0));
    }

    /** Per cell (y * W + x), the probability of {@code classId} under the softmax of the cell's top-k scores. */
    public static float[] probabilities(LabelMap map, int classId) {
        MapFormat f = map.format();
        int cells = f.height() * f.width();
        float[] out = new float[cells];
        for (int cell = 0; cell < cells; ++cell) {
            double max = Double.NEGATIVE_INFINITY, sum = 0, mine = 0;
            for (int j = 0; j < f.k(); ++j) max = Math.max(max, map.scores()[j * cells + cell]);
            for (int j = 0; j < f.k(); ++j) {
                double e = Math.exp(map.scores()[j * cells + cell] - max);
                sum += e;
                if (map.ids()[j * cells + cell] == classId) mine = e;
            }
            out[cell] = (float) (mine / sum);
        }
        return out;
    }

    /** The n classes with the highest mean probability over the cells (fewer if fewer appear), highest first. */
    public static List<ClassValue> topClasses(LabelMap map, int n) {
        MapFormat f = map.format();
        int cells = f.height() * f.width();
        double[] sum = new double[f.classes()];
        boolean[] seen = new boolean[f.classes()];
        for (int cell = 0; cell < cells; ++cell) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < f.k(); ++j) max = Math.max(max, map.scores()[j * cells + cell]);
            for (int j = 0; j < f.k(); ++j) z += Math.exp(map.scores()[j * cells + cell] - max);
            for (int j = 0; j < f.k(); ++j) {
                int c = map.ids()[j * cells + cell];
                sum[c] += Math.exp(map.scores()[j * cells + cell] - max) / z;
                seen[c] = true;
            }
        }
        List<ClassValue> all = new ArrayList<>();
        for (int c = 0; c < sum.length; ++c) if (seen[c]) all.add(new ClassValue(c, sum[c] / cells));
        all.sort(HIGHEST_FIRST);
        return all.subList(0, Math.min(n, all.size()));
    }

    /** The crop's soft target: LabelPooling (logits mode, 1x1, softmax over all C classes) of the map over the box. */
    public static float[] cropTarget(LabelMap map, float[] box) {
        return cropTarget(map, box, LabelPooling.Mode.LOGITS, 1f);
    }

    /** The crop's soft target as training computes it in {@code mode} at {@code temperature} (1x1, softmax). */
    public static float[] cropTarget(LabelMap map, float[] box, LabelPooling.Mode mode, float temperature) {
        MapFormat f = map.format();
        long[] shape = {1, f.k(), f.height(), f.width()};
        NdArray scores = NdArray.of(map.scores(), shape), ids = NdArray.of(map.ids(), shape);
        NdArray out = LabelPooling.builder(f.classes()).softmax(true).mode(mode).temperature(temperature).build()
                .apply(scores, ids, NdArray.of(box, 1, 4), null);
        return out.toFloatArray();
    }

    /** The n largest entries of a target, highest first (ties: lower class id first). */
    public static List<ClassValue> top(float[] target, int n) {
        List<ClassValue> all = new ArrayList<>();
        for (int c = 0; c < target.length; ++c) all.add(new ClassValue(c, target[c]));
        all.sort(HIGHEST_FIRST);
        return all.subList(0, Math.min(n, all.size()));
    }

    /** Draws the figure for {@code image} (RGB, any size) and its label map. */
    public static BufferedImage render(BufferedImage image, LabelMap map, Options o) {
        return render(image, image.getWidth(), image.getHeight(), map, o);
    }

    /**
     * As {@link #render(BufferedImage, LabelMap, Options)} for a picture of an image of {@code width x height}
     * pixels shown smaller (e.g. a JPEG decoded at 1/4): the layout and title follow the full size.
     */
    public static BufferedImage render(BufferedImage image, int width, int height, LabelMap map, Options o) {
        List<ClassValue> classes = topClasses(map, o.heatmaps());
        Dimension p = panel(width, height);
        Dimension total = size(width, height, classes.size(), o.crop() != null);
        BufferedImage out = new BufferedImage(total.width, total.height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, total.width, total.height);
            BufferedImage scaled = scale(image, p.width, p.height);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            drawPanel(g, scaled, 0, o.crop(), String.format(Locale.ROOT, "image %dx%d, map %dx%d", width, height,
                    map.format().width(), map.format().height()));
            for (int i = 0; i < classes.size(); ++i) {
                ClassValue c = classes.get(i);
                BufferedImage heat = overlay(scaled, probabilities(map, c.classId()), map.format());
                drawPanel(g, heat, (1 + i) * p.width, o.crop(), String.format(Locale.ROOT, "#%d %s (mean p %.2f)",
                        i + 1, name(o.classNames(), c.classId()), c.value()));
            }
            if (o.crop() != null) {
                int h = total.height - TITLE, x = (1 + classes.size()) * p.width;
                g.drawImage(chart(cropTarget(map, o.crop(), o.mode(), o.temperature()), o, h), x, TITLE, null);
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** Writes {@code figure} as a PNG atomically (temporary file, then rename). */
    public static void writePng(BufferedImage figure, Path out) throws IOException {
        AtomicFiles.write(out, tmp -> {
            if (!ImageIO.write(figure, "png", tmp.toFile())) throw new IOException("no PNG writer available");
        });
    }

    static String name(List<String> names, int c) {
        String n = names != null && c < names.size() ? names.get(c) : "class " + c;
        return n.length() <= 28 ? n : n.substring(0, 27) + "…";
    }

    static void drawPanel(Graphics2D g, BufferedImage panel, int x, float[] crop, String title) {
        g.drawImage(panel, x, TITLE, null);
        if (crop != null) {
            int w = panel.getWidth(), h = panel.getHeight();
            int x1 = x + Math.round(crop[0] * w), y1 = TITLE + Math.round(crop[1] * h);
            int x2 = x + Math.round(crop[2] * w) - 1, y2 = TITLE + Math.round(crop[3] * h) - 1;
            g.setStroke(new BasicStroke(3f));
            g.setColor(Color.BLACK);
            g.drawRect(x1, y1, Math.max(1, x2 - x1), Math.max(1, y2 - y1));
            g.setStroke(new BasicStroke(1.5f));
            g.setColor(Color.WHITE);
            g.drawRect(x1, y1, Math.max(1, x2 - x1), Math.max(1, y2 - y1));
        }
        g.setColor(Color.BLACK);
        FontMetrics fm = g.getFontMetrics();
        String t = title;
        while (t.length() > 4 && fm.stringWidth(t) > panel.getWidth() - 6) t = t.substring(0, t.length() - 2);
        if (!t.equals(title)) t = t + "…";
        g.drawString(t, x + 4, TITLE - 10);
    }

    static BufferedImage scale(BufferedImage image, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            if (w < image.getWidth() || h < image.getHeight()) {
                g.drawImage(image.getScaledInstance(w, h, Image.SCALE_AREA_AVERAGING), 0, 0, null);
            } else {
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
                g.drawImage(image, 0, 0, w, h, null);
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** The image with the probabilities (cells of the map) upsampled bilinearly and blended in a color map. */
    static BufferedImage overlay(BufferedImage image, float[] p, MapFormat f) {
        int w = image.getWidth(), h = image.getHeight(), mw = f.width(), mh = f.height();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int py = 0; py < h; ++py) {
            double v = Math.max(0, Math.min(mh - 1, (py + 0.5) * mh / h - 0.5));
            int y0 = (int) v, y1 = Math.min(mh - 1, y0 + 1);
            double fy = v - y0;
            for (int px = 0; px < w; ++px) {
                double u = Math.max(0, Math.min(mw - 1, (px + 0.5) * mw / w - 0.5));
                int x0 = (int) u, x1 = Math.min(mw - 1, x0 + 1);
                double fx = u - x0;
                double q = (1 - fy) * ((1 - fx) * p[y0 * mw + x0] + fx * p[y0 * mw + x1])
                        + fy * ((1 - fx) * p[y1 * mw + x0] + fx * p[y1 * mw + x1]);
                int heat = colormap(q), rgb = image.getRGB(px, py);
                double a = 0.25 + 0.5 * q;
                out.setRGB(px, py, blend(rgb, heat, a));
            }
        }
        return out;
    }

    private static int blend(int a, int b, double alpha) {
        int r = (int) Math.round(((a >> 16) & 255) * (1 - alpha) + ((b >> 16) & 255) * alpha);
        int g = (int) Math.round(((a >> 8) & 255) * (1 - alpha) + ((b >> 8) & 255) * alpha);
        int bl = (int) Math.round((a & 255) * (1 - alpha) + (b & 255) * alpha);
        return (r << 16) | (g << 8) | bl;
    }

    /** A jet-like color map: 0 dark blue, 0.25 blue, 0.5 cyan-green, 0.75 yellow, 1 red. */
    static int colormap(double q) {
        double[][] stops = {{0, 0, 0, 128}, {0.25, 0, 64, 255}, {0.5, 0, 220, 160}, {0.75, 255, 230, 0}, {1, 220, 0, 0}};
        double v = Math.max(0, Math.min(1, q));
        for (int i = 1; i < stops.length; ++i) {
            if (v <= stops[i][0]) {
                double t = (v - stops[i - 1][0]) / (stops[i][0] - stops[i - 1][0]);
                int r = (int) Math.round(stops[i - 1][1] + t * (stops[i][1] - stops[i - 1][1]));
                int g = (int) Math.round(stops[i - 1][2] + t * (stops[i][2] - stops[i - 1][2]));
                int b = (int) Math.round(stops[i - 1][3] + t * (stops[i][3] - stops[i - 1][3]));
                return (r << 16) | (g << 8) | b;
            }
        }
        return 0xDC0000;
    }

    private static BufferedImage chart(float[] target, Options o, int height) {
        List<ClassValue> top = top(target, o.bars());
        List<String> names = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (ClassValue c : top) {
            names.add(c.classId() + " " + name(o.classNames(), c.classId()));
            values.add(c.value());
        }
        float[] b = o.crop();
        CategoryChart chart = new CategoryChartBuilder().width(CHART_WIDTH).height(height)
                .title(String.format(Locale.ROOT, "crop (%.2f, %.2f)-(%.2f, %.2f): soft target%s", b[0], b[1], b[2], b[3],
                        o.mode() == LabelPooling.Mode.LOGITS && o.temperature() == 1f ? ""
                                : String.format(Locale.ROOT, " (%s, T=%s)", o.mode().name().toLowerCase(Locale.ROOT),
                                        o.temperature())))
                .yAxisTitle("LabelPooling target").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x3060C0)});
        chart.addSeries("target", names, values);
        return BitmapEncoder.getBufferedImage(chart);
    }
}
