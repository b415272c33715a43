package org.relabel4j.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.testing.Fixtures;

/** Top-k compression against ../shared/fixtures/topk (torch.topk) and a full-sort reference. */
class TopKTest {
    @TestFactory
    Stream<DynamicTest> fixtures() {
        Fixtures.assumePresent();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : Fixtures.cases("topk")) {
            NdArray dense = Fixtures.load(dir, "dense.npy"), ids = Fixtures.load(dir, "topk_indices.npy");
            int k = (int) ids.shape(1);
            String name = dir.getFileName().toString();
            tests.add(DynamicTest.dynamicTest(name + ": fp32 scores, int32 ids", () -> {
                TopK.Result r = TopK.of(k, DType.FLOAT32, DType.INT32, 1).apply(dense);
                assertArrayEquals(Fixtures.load(dir, "topk_scores.npy").toFloatArray(), r.scores().toFloatArray(), 0f);
                assertArrayEquals(ids.toLongArray(), r.indices().toLongArray());
            }));
            tests.add(DynamicTest.dynamicTest(name + ": fp16 scores (round to nearest even), uint16 ids", () -> {
                TopK.Result r = TopK.of(k, DType.FLOAT16, null, 2).apply(dense);
                assertEquals(DType.UINT16, r.indices().dtype());
                NdArray want = Fixtures.load(dir, "topk_scores_fp16.npy");
                assertEquals(want.buffer(), r.scores().buffer(), "fp16 bits");
                assertArrayEquals(ids.toLongArray(), r.indices().toLongArray());
            }));
            for (DType in : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
                tests.add(DynamicTest.dynamicTest(name + ": " + in.label() + " input", () -> {
                    NdArray narrow = dense.astype(in);
                    TopK.Result r = TopK.of(k, DType.FLOAT32, DType.INT32, 1).apply(narrow);
                    assertReference(narrow, k, r);
                }));
            }
        }
        return tests.stream();
    }

    /** Scores and ids equal a stable full sort (ties: lower class id first). */
    static void assertReference(NdArray dense, int k, TopK.Result r) {
        int n = (int) dense.shape(0), c = (int) dense.shape(1), hw = (int) (dense.shape(2) * dense.shape(3));
        for (int b = 0; b < n; ++b) {
            for (int loc = 0; loc < hw; ++loc) {
                final int bb = b, ll = loc;
                List<Integer> order = IntStream.range(0, c).boxed()
                        .sorted(Comparator.comparingDouble((Integer cls) -> -dense.getFloat(((long) bb * c + cls) * hw + ll)))
                        .toList();
                for (int j = 0; j < k; ++j) {
                    long o = ((long) b * k + j) * hw + loc;
                    assertEquals(order.get(j), (int) r.indices().getLong(o), "id at b=" + b + " j=" + j + " loc=" + loc);
                    assertEquals(dense.getFloat(((long) b * c + order.get(j)) * hw + loc), r.scores().getFloat(o));
                }
            }
        }
    }

    @Test
    void manyClassesUseInt32Ids() {
        Random rnd = new Random(3);
        int c = 70000;
        float[] v = new float[c * 2];
        for (int i = 0; i < v.length; ++i) v[i] = (float) rnd.nextGaussian();
        NdArray dense = NdArray.of(v, 1, c, 1, 2);
        TopK.Result r = TopK.of(5).apply(dense);
        assertEquals(DType.INT32, r.indices().dtype());
        assertReference(dense.astype(DType.FLOAT32), 5, TopK.of(5, DType.FLOAT32, null, 1).apply(dense));
        for (long i = 0; i < r.scores().numel(); ++i) {
            long id = r.indices().getLong(i);
            assertTrue(id >= 0 && id < c);
            assertEquals(Half.fromFloat(v[(int) (id * 2 + i % 2)]), r.scores().buffer().getShort((int) i * 2), "fp16 bits");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TopK.of(5, DType.FLOAT16, DType.UINT16, 1).apply(dense));
        assertTrue(e.getMessage().contains("uint16 class ids cannot hold classes = 70000"), e.getMessage());
    }

    @Test
    void nonFiniteInputNamesTheElement() {
        float[] v = new float[2 * 8 * 3 * 4];
        java.util.Arrays.fill(v, 0.5f);
        v[(1 * 8 + 6) * 12 + 2 * 4 + 1] = Float.NaN;
        NdArray dense = NdArray.of(v, 2, 8, 3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TopK.of(3).apply(dense));
        assertTrue(e.getMessage().contains("dense[b=1, c=6, y=2, x=1] is NaN"), e.getMessage());
        dense.setFloat((1 * 8 + 6) * 12 + 2 * 4 + 1, Float.POSITIVE_INFINITY);
        e = assertThrows(IllegalArgumentException.class, () -> TopK.of(3).apply(dense));
        assertTrue(e.getMessage().contains("is infinite"), e.getMessage());
        dense.setFloat((1 * 8 + 6) * 12 + 2 * 4 + 1, 1e6f);
        e = assertThrows(IllegalArgumentException.class, () -> TopK.of(3).apply(dense));
        assertTrue(e.getMessage().contains("overflows float16"), e.getMessage());
        assertEquals(1e6f, TopK.of(3, DType.FLOAT32, null, 1).apply(dense).scores().getFloat(12 * 3 + 2 * 4 + 1));
    }

    @Test
    void argumentChecks() {
        NdArray dense = NdArray.zeros(DType.FLOAT32, 1, 4, 2, 2);
        assertMessage("dense: k (5) must be <= classes (4)", () -> TopK.of(5).apply(dense));
        assertMessage("dense: expected rank 4 [B,C,H,W], got shape [4, 2, 2]", () -> TopK.of(2).apply(dense.reshape(4, 2, 2)));
        assertMessage("dense: dtype int32 is not supported", () -> TopK.of(2).apply(NdArray.zeros(DType.INT32, 1, 4, 2, 2)));
        assertMessage("k must be in [1, 64], got 0", () -> TopK.of(0));
        assertMessage("score type must be float16 or float32, got BFLOAT16", () -> TopK.of(3, DType.BFLOAT16, null, 1));
        assertMessage("index type must be uint16 or int32, got INT64", () -> TopK.of(3, DType.FLOAT16, DType.INT64, 1));
    }

    static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}
