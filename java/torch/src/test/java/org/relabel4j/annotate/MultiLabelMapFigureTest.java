package org.relabel4j.annotate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relabel4j.annotate.MultiLabelMapFigure.Values;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMap;

/** Per-class multi-label map values (sigmoid of logits, clamped values; absent classes 0) and the figure's layout. */
class MultiLabelMapFigureTest {
    // 4 classes, top-2, a 1 x 2 grid: cell 0 holds classes 2 (slot 0) and 0 (slot 1), cell 1 classes 1 and 2
    static LabelMap map(float... scores) {
        return new LabelMap("a", new MapFormat(4, 2, 1, 2, DType.FLOAT16, DType.UINT16), scores, new int[] {2, 1, 0, 2});
    }

    @Test
    void sigmoidOfTheCellsLogitZeroWhereAbsent() {
        LabelMap m = map(3f, 2f, 1f, -1f);
        assertArrayEquals(new float[] {(float) (1 / (1 + Math.exp(-3))), (float) (1 / (1 + Math.exp(1)))},
                MultiLabelMapFigure.values(m, 2, Values.SIGMOID), 1e-6f);
        assertArrayEquals(new float[] {0f, (float) (1 / (1 + Math.exp(-2)))}, MultiLabelMapFigure.values(m, 1, Values.SIGMOID), 1e-6f);
        assertArrayEquals(new float[] {0f, 0f}, MultiLabelMapFigure.values(m, 3, Values.SIGMOID));
    }

    @Test
    void valuesClampedToTheUnitInterval() {
        LabelMap m = map(0.25f, 0.5f, 0.75f, 1.5f);
        assertArrayEquals(new float[] {0.25f, 1f}, MultiLabelMapFigure.values(m, 2, Values.VALUE));
        assertArrayEquals(new float[] {0.75f, 0f}, MultiLabelMapFigure.values(m, 0, Values.VALUE));
        assertThrows(IllegalArgumentException.class, () -> MultiLabelMapFigure.values(m, 4, Values.VALUE));
    }

    @Test
    void rowsOfOnePanelPerClassStacked() {
        BufferedImage image = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        BufferedImage a = MultiLabelMapFigure.row(image, 40, 20, map(3f, 2f, 1f, -1f), Values.SIGMOID, List.of(2, 1),
                List.of("zero", "one", "two", "three"), "teacher");
        assertEquals(3 * 320, a.getWidth());
        assertEquals(LabelMapFigure.TITLE + 160, a.getHeight());
        // class 2 is strong in cell 0 (left half): its panel is redder there than class 1's, which is absent there
        int y = LabelMapFigure.TITLE + 80;
        assertNotEquals(a.getRGB(320 + 40, y), a.getRGB(640 + 40, y));
        BufferedImage b = MultiLabelMapFigure.row(image, 40, 20, map(0.25f, 0.5f, 0.75f, 1.5f), Values.VALUE,
                List.of(0), null, "oracle");
        BufferedImage s = MultiLabelMapFigure.stack(List.of(a, b));
        assertEquals(a.getWidth(), s.getWidth());
        assertEquals(a.getHeight() + b.getHeight(), s.getHeight());
        assertThrows(IllegalArgumentException.class, () -> MultiLabelMapFigure.row(image, 40, 20, map(0, 0, 0, 0),
                Values.VALUE, List.of(), null, "x"));
    }
}
