package org.relabel4j.annotate;

import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMap;

/**
 * The multi-label label-map figure: per class its own map, not a share of a per-cell softmax (which has no
 * multi-label meaning, unlike {@link LabelMapFigure}'s). A row is the image, then for each requested class the
 * image with that class's per-cell value overlaid (upsampled bilinearly, the color map of {@link LabelMapFigure}):
 *
 * <ul>
 *   <li>{@link Values#SIGMOID}: {@code sigmoid(score)} of a teacher's logit map, 0 where the class is not among the
 *       cell's top-k (as the {@code sigmoid} multi-label target treats it);
 *   <li>{@link Values#VALUE}: the score itself clamped to [0, 1] (oracle maps: the covered fraction of the cell;
 *       stores of per-cell sigmoid probabilities), 0 where the class is not among the cell's top-k.
 * </ul>
 *
 * Rows of several maps of one image (e.g. the teacher's and the oracle's) are stacked by {@link #stack}.
 */
public final class MultiLabelMapFigure {
    /** How a cell's score becomes the value drawn. */
    public enum Values { SIGMOID, VALUE }

    private MultiLabelMapFigure() {}

    /** Per cell (y * W + x), the value of {@code classId} in {@code map} (see the class comment). */
    public static float[] values(LabelMap map, int classId, Values how) {
        MapFormat f = map.format();
        if (classId < 0 || classId >= f.classes())
            throw new IllegalArgumentException("class " + classId + " is outside the map's " + f.classes() + " classes");
        int cells = f.height() * f.width();
        float[] out = new float[cells];
        for (int j = 0; j < f.k(); ++j)
            for (int cell = 0; cell < cells; ++cell) {
                if (map.ids()[j * cells + cell] != classId) continue;
                double s = map.scores()[j * cells + cell];
                out[cell] = (float) (how == Values.SIGMOID ? 1 / (1 + Math.exp(-s)) : Math.max(0, Math.min(1, s)));
            }
        return out;
    }

    /**
     * One row: {@code image} (a picture of an image of {@code width x height}) titled {@code label}, then one panel
     * per class of {@code classes} titled with its name and its largest cell value.
     */
    public static BufferedImage row(BufferedImage image, int width, int height, LabelMap map, Values how,
            List<Integer> classes, List<String> names, String label) {
        if (classes.isEmpty()) throw new IllegalArgumentException("no classes to draw");
        Dimension p = LabelMapFigure.panel(width, height);
        BufferedImage out = new BufferedImage((1 + classes.size()) * p.width, LabelMapFigure.TITLE + p.height,
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, out.getWidth(), out.getHeight());
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            BufferedImage scaled = LabelMapFigure.scale(image, p.width, p.height);
            LabelMapFigure.drawPanel(g, scaled, 0, null, label);
            for (int i = 0; i < classes.size(); ++i) {
                int c = classes.get(i);
                float[] v = values(map, c, how);
                float max = 0;
                for (float x : v) max = Math.max(max, x);
                LabelMapFigure.drawPanel(g, LabelMapFigure.overlay(scaled, v, map.format()), (1 + i) * p.width, null,
                        String.format(Locale.ROOT, "%s (max %.2f)", LabelMapFigure.name(names, c), max));
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** The rows one above the other, left-aligned on white. */
    public static BufferedImage stack(List<BufferedImage> rows) {
        int w = rows.stream().mapToInt(BufferedImage::getWidth).max().orElseThrow(), h = rows.stream()
                .mapToInt(BufferedImage::getHeight).sum();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            int y = 0;
            for (BufferedImage r : rows) {
                g.drawImage(r, 0, y, null);
                y += r.getHeight();
            }
        } finally {
            g.dispose();
        }
        return out;
    }
}
