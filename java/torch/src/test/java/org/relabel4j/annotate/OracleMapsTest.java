package org.relabel4j.annotate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.relabel4j.data.CocoDataset.Instance;

/** Rasterization of polygons, RLE and boxes against areas known exactly; covered fractions per cell; top-k. */
class OracleMapsTest {
    static int area(boolean[] m) {
        int n = 0;
        for (boolean b : m) n += b ? 1 : 0;
        return n;
    }

    @Test
    void polygonsCoverThePixelsWhoseCentreIsInside() {
        assertEquals(6, area(OracleMaps.polygon(new double[] {1, 1, 3, 1, 3, 4, 1, 4}, 5, 5)), "a 2 x 3 rectangle");
        // the triangle (0,0) (4,0) (0,4): centres with x + y + 1 < 4, i.e. 3 + 2 + 1 pixels
        boolean[] t = OracleMaps.polygon(new double[] {0, 0, 4, 0, 0, 4}, 4, 4);
        assertEquals(6, area(t));
        assertTrue(t[0] && t[2] && !t[3] && t[4] && !t[6]);
        assertEquals(25, area(OracleMaps.polygon(new double[] {-3, -3, 9, -3, 9, 9, -3, 9}, 5, 5)), "clipped to the image");
        assertEquals(2, area(OracleMaps.box(new double[] {0.6, 0, 1.2, 2}, 3, 2)), "a box from x 0.6 to 1.8: the centre 1.5, 2 rows");
    }

    @Test
    void rleIsColumnMajorAndTheCompressedStringDecodes() {
        boolean[] m = OracleMaps.rle(new long[] {0, 4, 4}, 4, 2, "t");
        assertEquals(4, area(m));
        assertTrue(m[0] && m[1] && m[4] && m[5] && !m[2], "the first 4 pixels column-major are columns 0 and 1");
        assertArrayEquals(new long[] {0, 4, 4}, OracleMaps.decodeRleString("044"));
        assertArrayEquals(new long[] {5, 3, 2, 1}, OracleMaps.decodeRleString("532N"), "from the 4th run on, a (here negative) delta from the run two back");
        assertArrayEquals(new long[] {0, 100}, OracleMaps.decodeRleString("0T3"), "a run of two 5-bit chunks");
        var e = assertThrows(IllegalArgumentException.class, () -> OracleMaps.rle(new long[] {0, 9}, 4, 2, "img 3"));
        assertTrue(e.getMessage().contains("img 3") && e.getMessage().contains("runs past 8"), e.getMessage());
    }

    @Test
    void coverageIsTheCoveredFractionOfEachCell() throws IOException {
        var json = new ObjectMapper();
        List<Instance> in = List.of(
                new Instance(0, new double[] {0, 0, 2, 4}, false, json.readTree("[[0, 0, 2, 0, 2, 4, 0, 4]]")),  // left half
                new Instance(1, new double[] {0, 0, 1, 1}, false, null),                                        // a box
                new Instance(2, null, true, json.readTree("{\"size\": [4, 4], \"counts\": [12, 4]}")));          // last column
        float[] c = OracleMaps.coverage(in, 3, 4, 4, 2, 2, "t");
        // cells (row, col) of 2 x 2 pixels each
        assertArrayEquals(new float[] {1, 0, 1, 0}, slice(c, 0), 0f);
        assertArrayEquals(new float[] {0.25f, 0, 0, 0}, slice(c, 1), 0f);
        assertArrayEquals(new float[] {0, 0.5f, 0, 0.5f}, slice(c, 2), 0f);
        float[] scores = new float[2 * 4];
        int[] ids = new int[2 * 4];
        OracleMaps.topK(c, 3, 4, 2, scores, ids);
        assertArrayEquals(new int[] {0, 2, 0, 2, 1, 0, 1, 0}, ids, "cell 0: class 0 then 1; cell 1: 2, then the tie 0 < 1");
        assertArrayEquals(new float[] {1, 0.5f, 1, 0.5f, 0.25f, 0, 0, 0}, scores, 0f);
        var e = assertThrows(IllegalArgumentException.class, () -> OracleMaps.coverage(in, 3, 4, 4, 8, 8, "img 5"));
        assertTrue(e.getMessage().contains("finer than the image"), e.getMessage());
    }

    static float[] slice(float[] c, int cls) {
        float[] r = new float[4];
        System.arraycopy(c, cls * 4, r, 0, 4);
        return r;
    }
}
