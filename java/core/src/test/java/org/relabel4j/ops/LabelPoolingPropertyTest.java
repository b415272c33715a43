package org.relabel4j.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.relabel4j.testing.Close.assertClose;

import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling.BoxOrder;
import org.relabel4j.ops.LabelPooling.Mode;
import org.relabel4j.testing.ReferenceLabelPooling;

/**
 * Random maps and boxes against {@link ReferenceLabelPooling} (roi_align written from its definition over a
 * materialized dense map): boxes inside, across and outside the image, zero-size and sub-cell boxes, non-square
 * maps, k = 1, C = 21843, S x S outputs, flips, both modes, temperatures, both box orders.
 */
class LabelPoolingPropertyTest {
    /** A random batch of maps: scores descending per cell, distinct class ids per cell. */
    record Maps(int batch, int k, int h, int w, int classes, float[] scores, int[] ids) {
        static Maps random(Random rnd, int batch, int k, int h, int w, int classes, float offset) {
            float[] scores = new float[batch * k * h * w];
            int[] ids = new int[batch * k * h * w];
            int hw = h * w;
            for (int b = 0; b < batch; ++b) {
                for (int cell = 0; cell < hw; ++cell) {
                    float[] v = new float[k];
                    for (int j = 0; j < k; ++j) v[j] = (float) rnd.nextGaussian() * 2 + offset;
                    java.util.Arrays.sort(v);
                    int[] picked = rnd.ints(0, classes).distinct().limit(k).toArray();
                    for (int j = 0; j < k; ++j) {
                        scores[(b * k + j) * hw + cell] = v[k - 1 - j];
                        ids[(b * k + j) * hw + cell] = picked[j];
                    }
                }
            }
            return new Maps(batch, k, h, w, classes, scores, ids);
        }

        NdArray scoresArray() {
            return NdArray.of(scores, batch, k, h, w);
        }

        NdArray idsArray() {
            return NdArray.of(ids, batch, k, h, w);
        }

        float[] scoresOf(int b) {
            return java.util.Arrays.copyOfRange(scores, b * k * h * w, (b + 1) * k * h * w);
        }

        int[] idsOf(int b) {
            return java.util.Arrays.copyOfRange(ids, b * k * h * w, (b + 1) * k * h * w);
        }
    }

    /** Boxes of every kind: ordinary crops, whole image, outside, across the border, zero-size, sub-cell, reversed. */
    static float[] randomBoxes(Random rnd, int batch) {
        float[] boxes = new float[batch * 4];
        for (int b = 0; b < batch; ++b) {
            float x1, y1, x2, y2;
            switch (b % 8) {
                case 0 -> { x1 = 0; y1 = 0; x2 = 1; y2 = 1; }
                case 1 -> { x1 = 1.2f + rnd.nextFloat(); y1 = rnd.nextFloat(); x2 = x1 + 0.5f; y2 = y1 + 0.3f; }
                case 2 -> { x1 = -0.4f; y1 = -0.3f + rnd.nextFloat() * 0.2f; x2 = 0.3f; y2 = 1.4f; }
                case 3 -> { x1 = y1 = rnd.nextFloat(); x2 = x1; y2 = y1; }
                case 4 -> { x1 = rnd.nextFloat(); y1 = rnd.nextFloat(); x2 = x1 + 0.01f; y2 = y1 + 0.02f; }
                case 5 -> { x1 = 0.7f; y1 = 0.6f; x2 = 0.2f; y2 = 0.1f; }
                default -> {
                    x1 = rnd.nextFloat() * 0.6f; y1 = rnd.nextFloat() * 0.6f;
                    x2 = x1 + 0.08f + rnd.nextFloat() * 0.6f; y2 = y1 + 0.08f + rnd.nextFloat() * 0.6f;
                }
            }
            boxes[b * 4] = x1;
            boxes[b * 4 + 1] = y1;
            boxes[b * 4 + 2] = x2;
            boxes[b * 4 + 3] = y2;
        }
        return boxes;
    }

    /** Reference output [B, C(,S,S)] for the given options. */
    static float[] reference(Maps m, float[] boxes, boolean[] flips, int s, Mode mode, boolean softmax, float t,
            BoxOrder order) {
        int per = m.classes * s * s;
        float[] out = new float[m.batch * per];
        for (int b = 0; b < m.batch; ++b) {
            float[] dense = mode == Mode.PROBS
                    ? ReferenceLabelPooling.denseProbs(m.scoresOf(b), m.idsOf(b), m.k, m.h, m.w, m.classes, t)
                    : ReferenceLabelPooling.denseMap(m.scoresOf(b), m.idsOf(b), m.k, m.h, m.w, m.classes);
            float bx1 = boxes[b * 4], by1 = boxes[b * 4 + 1], bx2 = boxes[b * 4 + 2], by2 = boxes[b * 4 + 3];
            float[] pooled = order == BoxOrder.OFFICIAL
                    // the released code: (y1, x1, y2, x2) read as (x1, y1, x2, y2), both axes scaled by W
                    ? ReferenceLabelPooling.roiAlign(dense, m.classes, m.h, m.w, by1 * m.w - 0.5f, bx1 * m.w - 0.5f,
                            by2 * m.w - 0.5f, bx2 * m.w - 0.5f, s)
                    : ReferenceLabelPooling.roiAlign(dense, m.classes, m.h, m.w, bx1 * m.w - 0.5f, by1 * m.h - 0.5f,
                            bx2 * m.w - 0.5f, by2 * m.h - 0.5f, s);
            if (flips != null && flips[b]) pooled = ReferenceLabelPooling.flip(pooled, m.classes, s);
            if (mode == Mode.PROBS) pooled = ReferenceLabelPooling.normalize(pooled, m.classes, s);
            else if (softmax) pooled = ReferenceLabelPooling.softmax(pooled, m.classes, s, t);
            System.arraycopy(pooled, 0, out, b * per, per);
        }
        return out;
    }

    static Stream<Arguments> shapes() {
        return Stream.of(
                // batch, k, h, w, classes, S, offset
                Arguments.of(16, 5, 15, 15, 1000, 1, 6f),
                Arguments.of(16, 5, 14, 14, 1000, 7, 6f),
                Arguments.of(16, 3, 12, 20, 100, 1, 2f),
                Arguments.of(16, 3, 7, 11, 50, 3, 0f),
                Arguments.of(16, 1, 15, 15, 10, 1, -3f),
                Arguments.of(8, 1, 1, 1, 3, 2, 1f),
                Arguments.of(8, 5, 7, 7, 21843, 1, 4f),
                Arguments.of(8, 10, 5, 9, 64, 2, -1f));
    }

    @ParameterizedTest(name = "B={0} k={1} {2}x{3} C={4} S={5}")
    @MethodSource("shapes")
    void matchesReference(int batch, int k, int h, int w, int classes, int s, float offset) {
        Random rnd = new Random(31L * classes + 7L * h + w + s);
        Maps m = Maps.random(rnd, batch, k, h, w, classes, offset);
        float[] boxes = randomBoxes(rnd, batch);
        boolean[] flips = new boolean[batch];
        for (int b = 0; b < batch; ++b) flips[b] = rnd.nextBoolean();
        NdArray boxArray = NdArray.of(boxes, batch, 4), flipArray = NdArray.of(flips);
        for (BoxOrder order : BoxOrder.values()) {
            if (order == BoxOrder.OFFICIAL && h != w) continue;  // the released code assumes square maps
            for (Mode mode : Mode.values()) {
                for (boolean softmax : new boolean[] {false, true}) {
                    if (mode == Mode.PROBS && softmax) continue;  // probs mode is always a distribution
                    for (float t : new float[] {1f, 2.5f}) {
                        if (t != 1f && mode == Mode.LOGITS && !softmax) continue;
                        LabelPooling p = LabelPooling.builder(classes).outputSize(s).mode(mode).softmax(softmax)
                                .temperature(t).boxOrder(order).build();
                        float[] want = reference(m, boxes, flips, s, mode, softmax, t, order);
                        float[] got = p.apply(m.scoresArray(), m.idsArray(), boxArray, flipArray).toFloatArray();
                        String what = String.format("%s %s softmax=%s T=%s", order, mode, softmax, t);
                        double scale = 0;
                        for (float v : want) scale = Math.max(scale, Math.abs(v));
                        assertClose(what, want, got, 1e-5, 2e-6 * scale + 1e-7);
                    }
                }
            }
        }
    }

    @Test
    void officialOrderDiffersOnAnAsymmetricMap() {
        // One class on the left half, another on the top half: transposing the box swaps which one a crop sees.
        int h = 8, w = 8, classes = 3;
        float[] scores = new float[h * w];
        int[] ids = new int[h * w];
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                scores[y * w + x] = 5f;
                ids[y * w + x] = x < w / 2 ? 1 : (y < h / 2 ? 2 : 0);
            }
        }
        NdArray s = NdArray.of(scores, 1, 1, h, w), i = NdArray.of(ids, 1, 1, h, w);
        NdArray box = NdArray.of(new float[] {0.0f, 0.5f, 0.5f, 1.0f}, 1, 4);  // left half, bottom half
        float[] correct = LabelPooling.builder(classes).build().apply(s, i, box, null).toFloatArray();
        float[] official = LabelPooling.builder(classes).boxOrder(BoxOrder.OFFICIAL).build()
                .apply(s, i, box, null).toFloatArray();
        // The correct crop (x in [0, .5], y in [.5, 1]) lies in the left half: class 1 only.
        assertClose("correct", new float[] {0f, 5f, 0f}, correct, 1e-6, 1e-6);
        // The official code reads it transposed (x in [.5, 1], y in [0, .5]): the top-right quarter, class 2.
        assertClose("official", new float[] {0f, 0f, 5f}, official, 1e-6, 1e-6);
        assertFalse(java.util.Arrays.equals(correct, official));
    }

    @Test
    void uint16IdsAndFp16ScoresMatchWidenedInputs() {
        Random rnd = new Random(5);
        Maps m = Maps.random(rnd, 12, 5, 15, 15, 1000, 6f);
        NdArray boxes = NdArray.of(randomBoxes(rnd, 12), 12, 4);
        NdArray s16 = m.scoresArray().astype(DType.FLOAT16), i16 = m.idsArray().astype(DType.UINT16);
        LabelPooling p = LabelPooling.builder(1000).softmax(true).build();
        // fp16 scores widened exactly to fp32: the two paths see identical values.
        float[] viaFp16 = p.apply(s16, i16, boxes, null).toFloatArray();
        float[] viaFp32 = p.apply(s16.astype(DType.FLOAT32), i16.astype(DType.INT32), boxes, null).toFloatArray();
        assertClose("fp16/uint16 vs the same values as fp32/int32", viaFp32, viaFp16, 0, 0);
    }

    @Test
    void largeBatchesSplitOverThreadsAgree() {
        Random rnd = new Random(9);
        Maps m = Maps.random(rnd, 200, 5, 15, 15, 1000, 6f);
        NdArray boxes = NdArray.of(randomBoxes(rnd, 200), 200, 4);
        float[] one = LabelPooling.builder(1000).softmax(true).build().apply(m.scoresArray(), m.idsArray(), boxes, null)
                .toFloatArray();
        IntStream.of(2, 7).forEach(threads -> assertClose("threads=" + threads, one, LabelPooling.builder(1000)
                .softmax(true).threads(threads).build().apply(m.scoresArray(), m.idsArray(), boxes, null)
                .toFloatArray(), 0, 0));
    }
}
