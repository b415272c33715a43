package org.relabel4j.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Dimension;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMap;

/** The label-map figure: per-cell probabilities, top classes, the crop's target, the layout. */
class LabelMapFigureTest {
    @TempDir
    Path tmp;

    /** 1x2 cells, k=2, C=4: left cell {2: 3.0, 0: 1.0}, right cell {1: 2.0, 2: 2.0}. */
    static LabelMap map() {
        MapFormat f = new MapFormat(4, 2, 1, 2, DType.FLOAT16, DType.UINT16);
        // [k, H, W]: entry j of cell x at j * 2 + x
        return new LabelMap("a/b", f, new float[] {3f, 2f, 1f, 2f}, new int[] {2, 1, 0, 2});
    }

    @Test
    void probabilitiesAndTopClasses() {
        float[] p2 = LabelMapFigure.probabilities(map(), 2);
        double left = 1 / (1 + Math.exp(-2));
        assertEquals(left, p2[0], 1e-6);
        assertEquals(0.5, p2[1], 1e-6);
        assertEquals(0.0, LabelMapFigure.probabilities(map(), 3)[0], 0.0);
        List<LabelMapFigure.ClassValue> top = LabelMapFigure.topClasses(map(), 5);
        assertEquals(3, top.size(), "only the classes present");
        assertEquals(2, top.get(0).classId());
        assertEquals((left + 0.5) / 2, top.get(0).value(), 1e-6);
        assertEquals(1, top.get(1).classId());
        assertEquals(0, top.get(2).classId());
    }

    @Test
    void cropTargetIsLabelPoolingWithSoftmax() {
        // The right half: roi_align over cell x=1 only gives its scores; softmax over all 4 classes (absent = 0).
        float[] t = LabelMapFigure.cropTarget(map(), new float[] {0.5f, 0f, 1f, 1f});
        double z = 2 * Math.exp(2) + 2 * Math.exp(0);
        assertEquals(Math.exp(2) / z, t[1], 1e-5);
        assertEquals(Math.exp(2) / z, t[2], 1e-5);
        assertEquals(1 / z, t[0], 1e-5);
        assertEquals(1 / z, t[3], 1e-5);
        assertEquals(List.of(1, 2), LabelMapFigure.top(t, 2).stream().map(LabelMapFigure.ClassValue::classId).toList());
    }

    @Test
    void cropTargetFollowsTemperatureAndMode() {
        float[] box = {0f, 0f, 1f, 1f};
        float[] t1 = LabelMapFigure.cropTarget(map(), box);
        float[] t05 = LabelMapFigure.cropTarget(map(), box, org.relabel4j.ops.LabelPooling.Mode.LOGITS, 0.5f);
        // softmax(z / 0.5) is proportional to softmax(z)^2
        double z = 0;
        for (float p : t1) z += (double) p * p;
        for (int c = 0; c < t1.length; ++c) assertEquals(t1[c] * t1[c] / z, t05[c], 1e-5);
        float[] probs = LabelMapFigure.cropTarget(map(), box, org.relabel4j.ops.LabelPooling.Mode.PROBS, 1f);
        double sum = 0;
        for (float p : probs) sum += p;
        assertEquals(1, sum, 1e-5);
        assertTrue(java.util.Arrays.equals(t1, LabelMapFigure.cropTarget(map(), box,
                org.relabel4j.ops.LabelPooling.Mode.LOGITS, 1f)));
        assertTrue(!java.util.Arrays.equals(t1, probs), "probs mode pools another target");
    }

    @Test
    void figureSize() throws Exception {
        BufferedImage img = new BufferedImage(200, 100, BufferedImage.TYPE_INT_RGB);
        BufferedImage fig = LabelMapFigure.render(img, map(), LabelMapFigure.Options.defaults());
        assertEquals(new Dimension(3 * 320, 30 + 160), new Dimension(fig.getWidth(), fig.getHeight()));
        fig = LabelMapFigure.render(img, map(), LabelMapFigure.Options.defaults().withHeatmaps(3)
                .withCrop(new float[] {0.1f, 0.1f, 0.6f, 0.9f}).withClassNames(List.of("a", "b", "c", "d")));
        assertEquals(LabelMapFigure.size(200, 100, 3, true), new Dimension(fig.getWidth(), fig.getHeight()));
        assertEquals(new Dimension(4 * 320 + 440, 30 + 260), new Dimension(fig.getWidth(), fig.getHeight()));
        Path png = tmp.resolve("f.png");
        LabelMapFigure.writePng(fig, png);
        assertEquals(fig.getWidth(), ImageIO.read(png.toFile()).getWidth());
        // heatmap panels differ from the plain image panel (the overlay is drawn)
        assertTrue(fig.getRGB(320 + 5, 30 + 80) != fig.getRGB(5, 30 + 80));
    }

    @Test
    void badOptions() {
        assertThrows(IllegalArgumentException.class, () -> LabelMapFigure.Options.defaults().withHeatmaps(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LabelMapFigure.Options.defaults().withCrop(new float[] {0.5f, 0f, 0.4f, 1f}));
        assertTrue(e.getMessage().contains("crop"), e.getMessage());
    }
}
