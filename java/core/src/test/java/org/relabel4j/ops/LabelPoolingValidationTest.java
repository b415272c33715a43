package org.relabel4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling.Mode;

/** Every validation path of LabelPooling: an IllegalArgumentException naming the argument and the value. */
class LabelPoolingValidationTest {
    static final int B = 2, K = 3, H = 4, W = 5, C = 10;

    static NdArray scores() {
        float[] v = new float[B * K * H * W];
        for (int i = 0; i < v.length; ++i) v[i] = 3f - (i / (H * W)) % K;
        return NdArray.of(v, B, K, H, W);
    }

    static NdArray ids() {
        int[] v = new int[B * K * H * W];
        for (int i = 0; i < v.length; ++i) v[i] = (i / (H * W)) % K;
        return NdArray.of(v, B, K, H, W);
    }

    static NdArray boxes() {
        return NdArray.of(new float[] {0.1f, 0.1f, 0.8f, 0.9f, 0f, 0f, 1f, 1f}, B, 4);
    }

    static void assertMessage(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }

    final LabelPooling pool = LabelPooling.builder(C).build();

    @Test
    void validInputPools() {
        NdArray out = pool.apply(scores(), ids(), boxes(), null);
        assertEquals(List.of(2L, 10L), List.of(out.shape(0), out.shape(1)));
    }

    @Test
    void scoresRankAndDtype() {
        assertMessage("scores: expected rank 4 [B,k,H,W], got shape [2, 3, 20]",
                () -> pool.apply(scores().reshape(B, K, H * W), ids(), boxes(), null));
        assertMessage("scores: dtype int32 is not supported (expected [float16, float32])",
                () -> pool.apply(ids(), ids(), boxes(), null));
    }

    @Test
    void indicesShapeAndDtype() {
        assertMessage("indices: dtype float32 is not supported (expected [int32, uint16])",
                () -> pool.apply(scores(), scores(), boxes(), null));
        assertMessage("indices: expected rank 4 [B,k,H,W], got shape [2, 60]",
                () -> pool.apply(scores(), ids().reshape(B, K * H * W), boxes(), null));
        NdArray other = NdArray.zeros(DType.INT32, B, K, W, H);
        assertMessage("indices: shape [2, 3, 5, 4] differs from scores shape [2, 3, 4, 5]",
                () -> pool.apply(scores(), other, boxes(), null));
    }

    @Test
    void kAgainstClassesAndIndexType() {
        assertMessage("k (3) must be <= classes (2)",
                () -> LabelPooling.builder(2).build().apply(scores(), ids(), boxes(), null));
        assertMessage("uint16 class ids cannot hold classes = 70000 (> 65535): use int32",
                () -> LabelPooling.builder(70000).build().apply(scores(), ids().astype(DType.UINT16), boxes(), null));
        NdArray big = NdArray.zeros(DType.FLOAT32, 1, 65, 1, 1);
        assertMessage("k must be in [1, 64], got 65",
                () -> LabelPooling.builder(100).build().apply(big, NdArray.zeros(DType.INT32, 1, 65, 1, 1),
                        NdArray.of(new float[] {0, 0, 1, 1}, 1, 4), null));
    }

    @Test
    void classIdOutOfRange() {
        NdArray bad = ids();
        bad.setLong(2 * H * W + 7, 12);  // map 0, k=2, y=1, x=2
        assertMessage("class id 12 of map 0 at (k=2, y=1, x=2) is outside [0, 10)",
                () -> pool.apply(scores(), bad, boxes(), null));
        bad.setLong(2 * H * W + 7, -1);
        assertMessage("class id -1 of map 0 at (k=2, y=1, x=2) is outside [0, 10)",
                () -> pool.apply(scores(), bad, boxes(), null));
    }

    @Test
    void boxesShapeDtypeAndValues() {
        assertMessage("boxes: dimension 0 is 1, expected 2 (batch size)",
                () -> pool.apply(scores(), ids(), NdArray.of(new float[] {0, 0, 1, 1}, 1, 4), null));
        assertMessage("boxes: dimension 1 is 2, expected 4 (x1, y1, x2, y2)",
                () -> pool.apply(scores(), ids(), NdArray.of(new float[] {0, 0, 1, 1}, 2, 2), null));
        assertMessage("boxes: expected rank 2 [B,4], got shape [8]",
                () -> pool.apply(scores(), ids(), boxes().reshape(8), null));
        assertMessage("boxes: dtype int32 is not supported (expected [float32])",
                () -> pool.apply(scores(), ids(), NdArray.of(new int[] {0, 0, 1, 1, 0, 0, 1, 1}, 2, 4), null));
        NdArray nan = boxes();
        nan.setFloat(6, Float.NaN);
        assertMessage("boxes[1].x2 = NaN is not finite", () -> pool.apply(scores(), ids(), nan, null));
        NdArray inf = boxes();
        inf.setFloat(1, Float.NEGATIVE_INFINITY);
        assertMessage("boxes[0].y1 = -Infinity is not finite", () -> pool.apply(scores(), ids(), inf, null));
        NdArray far = boxes();
        far.setFloat(3, 100f);
        assertMessage("boxes[0].y2 = 100.0 is outside [-64, 64]", () -> pool.apply(scores(), ids(), far, null));
    }

    @Test
    void flipsShapeAndDtype() {
        assertMessage("flips: dimension 0 is 3, expected 2 (batch size)",
                () -> pool.apply(scores(), ids(), boxes(), NdArray.of(new boolean[] {true, false, true})));
        assertMessage("flips: dtype float32 is not supported (expected [bool, uint8])",
                () -> pool.apply(scores(), ids(), boxes(), NdArray.of(new float[] {1, 0})));
        assertMessage("flips: expected rank 1 [B], got shape [1, 2]",
                () -> pool.apply(scores(), ids(), boxes(), NdArray.of(new boolean[] {true, false}, 1, 2)));
    }

    @Test
    void gatherArguments() {
        MapFormat format = new MapFormat(C, K, H, W, DType.FLOAT32, DType.INT32);
        long size = format.layout().recordSize();
        NdArray records = Records.pack(format, scores(), ids(), new long[] {0, 1});
        assertMessage("records: dimension 1 is 64, expected " + size,
                () -> pool.gather(NdArray.zeros(DType.UINT8, 2, 64), format, NdArray.of(new long[] {0, 1}), boxes(), null));
        assertMessage("records: dtype int32 is not supported (expected [uint8])",
                () -> pool.gather(NdArray.zeros(DType.INT32, 2, size / 4), format, NdArray.of(new long[] {0, 1}), boxes(), null));
        assertMessage("records: expected rank 2 [N, recordSize], got shape [" + 2 * size + "]",
                () -> pool.gather(records.reshape(2 * size), format, NdArray.of(new long[] {0, 1}), boxes(), null));
        assertMessage("recordIndices: expected rank 1 [B], got shape [2, 1]",
                () -> pool.gather(records, format, NdArray.of(new long[] {0, 1}, 2, 1), boxes(), null));
        assertMessage("recordIndices: dtype int32 is not supported (expected [int64])",
                () -> pool.gather(records, format, NdArray.of(new int[] {0, 1}), boxes(), null));
        assertMessage("record_indices[1] = 2 is outside [0, 2)",
                () -> pool.gather(records, format, NdArray.of(new long[] {0, 2}), boxes(), null));
        assertMessage("record_indices[0] = -1 is outside [0, 2)",
                () -> pool.gather(records, format, NdArray.of(new long[] {-1, 0}), boxes(), null));
        MapFormat other = new MapFormat(C + 1, K, H, W, DType.FLOAT32, DType.INT32);
        assertMessage("format: classes = 11 but this LabelPooling has 10",
                () -> pool.gather(records, other, NdArray.of(new long[] {0, 1}), boxes(), null));
    }

    @Test
    void outputBuffer() {
        NdArray out = NdArray.zeros(DType.FLOAT32, B, C);
        pool.apply(scores(), ids(), boxes(), null, out);
        assertEquals(java.util.Arrays.toString(pool.apply(scores(), ids(), boxes(), null).toFloatArray()),
                java.util.Arrays.toString(out.toFloatArray()));
        assertMessage("out: shape [2, 11], expected [2, 10]",
                () -> pool.apply(scores(), ids(), boxes(), null, NdArray.zeros(DType.FLOAT32, B, C + 1)));
        assertMessage("out: dtype float16 is not supported (expected [float32])",
                () -> pool.apply(scores(), ids(), boxes(), null, NdArray.zeros(DType.FLOAT16, B, C)));
    }

    @Test
    void builderOptions() {
        assertMessage("classes must be >= 1, got 0", () -> LabelPooling.builder(0));
        assertMessage("outputSize must be in [1, 256], got 0", () -> LabelPooling.builder(C).outputSize(0));
        assertMessage("temperature must be finite and > 0, got 0.0", () -> LabelPooling.builder(C).temperature(0));
        assertMessage("temperature must be finite and > 0, got NaN", () -> LabelPooling.builder(C).temperature(Float.NaN));
        assertMessage("threads must be in [1, 1024], got 0", () -> LabelPooling.builder(C).threads(0));
        assertThrows(NullPointerException.class, () -> LabelPooling.builder(C).mode(null));
    }

    @Test
    void mapFormatFields() {
        assertMessage("k (5) must be <= classes (4)", () -> new MapFormat(4, 5, 15, 15, DType.FLOAT16, DType.UINT16));
        assertMessage("map size must be in [1, 4096] per side, got 0x15",
                () -> new MapFormat(10, 5, 0, 15, DType.FLOAT16, DType.UINT16));
        assertMessage("score type must be float32, float16 or uint8, got BFLOAT16",
                () -> new MapFormat(10, 5, 15, 15, DType.BFLOAT16, DType.UINT16));
        assertMessage("index type must be uint16 or int32, got INT64",
                () -> new MapFormat(10, 5, 15, 15, DType.FLOAT16, DType.INT64));
        assertMessage("classes must be >= 1, got 0", () -> new MapFormat(0, 1, 15, 15, DType.FLOAT16, DType.UINT16));
        assertMessage("map size must be in [1, 4096] per side, got 15x5000",
                () -> new MapFormat(10, 5, 15, 5000, DType.FLOAT16, DType.UINT16));
        MapFormat.RecordLayout l = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16).layout();
        assertEquals(new MapFormat.RecordLayout(0, 2256, 4544, -1), l);
        assertEquals(new MapFormat.RecordLayout(0, 1136, 3456, 3392),
                new MapFormat(1000, 5, 15, 15, DType.UINT8, DType.UINT16).layout());
    }

    @Test
    void negativeTop1LogitsWarnOnceInLogitsMode() {
        List<String> warnings = new ArrayList<>();
        NdArray negative = scores();
        for (long i = 0; i < negative.numel(); ++i) negative.setFloat(i, negative.getFloat(i) - 10f);
        LabelPooling logits = LabelPooling.builder(C).softmax(true).warnings(warnings::add).build();
        logits.apply(negative, ids(), boxes(), null);
        logits.apply(negative, ids(), boxes(), null);
        assertEquals(1, warnings.size(), "warned once: " + warnings);
        assertTrue(warnings.get(0).contains("top-1 logit <= 0") && warnings.get(0).contains("probs"), warnings.get(0));
        assertTrue(logits.stats().cells() > 0 && logits.stats().cellsTop1Nonpositive() == logits.stats().cells());
        List<String> none = new ArrayList<>();
        LabelPooling.builder(C).mode(Mode.PROBS).warnings(none::add).build().apply(negative, ids(), boxes(), null);
        LabelPooling.builder(C).softmax(true).warnings(none::add).build().apply(scores(), ids(), boxes(), null);
        assertTrue(none.isEmpty(), none.toString());
    }
}
