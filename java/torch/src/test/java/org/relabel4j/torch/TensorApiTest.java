package org.relabel4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.testing.Close.assertClose;

import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.testing.Fixtures;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.Records;
import org.relabel4j.ops.TopK;

/** The LibTorch tensor entry points on CPU tensors: same results as the host-array API. */
class TensorApiTest {
    @BeforeAll
    static void loadTorch() {
        Torch.init();  // before any torch class: see Torch (Debian's libtorch pitfall)
    }

    @Test
    void poolsCpuTensorsLikeHostArrays() {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("labelpool/dense_k5_14x14");
        NdArray s = Fixtures.load(dir, "scores.npy"), i = Fixtures.load(dir, "indices.npy"), b = Fixtures.load(dir, "boxes_xyxy.npy");
        NdArray flips = NdArray.of(new boolean[] {true, false, true, false, true, false, true, true});
        try (PointerScope scope = new PointerScope()) {
            LabelPooling p = LabelPooling.builder(1000).outputSize(7).build();
            Tensor out = TensorOps.apply(p, Tensors.fromNdArray(s.astype(DType.FLOAT16)), Tensors.fromNdArray(i),
                    Tensors.fromNdArray(b), Tensors.fromNdArray(flips).to(org.bytedeco.pytorch.global.torch.ScalarType.Bool));
            NdArray want = p.apply(s.astype(DType.FLOAT16), i, b, flips);
            NdArray got = Tensors.toNdArray(out);
            assertArrayEquals(new long[] {8, 1000, 7, 7}, got.shape());
            assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 0f);
            // Against the fixture's golden too (all flipped rows pick the hflip golden).
            NdArray straight = Fixtures.load(dir, "pooled_7x7.npy"), mirrored = Fixtures.load(dir, "pooled_7x7_hflip.npy");
            long per = 1000L * 49;
            for (int crop = 0; crop < 8; ++crop) {
                NdArray golden = flips.getLong(crop) != 0 ? mirrored : straight;
                float[] w = new float[(int) per], g = new float[(int) per];
                for (int e = 0; e < per; ++e) {
                    w[e] = golden.getFloat(crop * per + e);
                    g[e] = got.getFloat(crop * per + e);
                }
                assertClose("crop " + crop, w, g, 0, Math.scalb(1.0, -11) * org.relabel4j.testing.Close.maxAbs(s));
            }
        }
    }

    @Test
    void nonContiguousTensorsAreAccepted() {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("labelpool/imagenet_k5_15x15");
        NdArray s = Fixtures.load(dir, "scores.npy"), i = Fixtures.load(dir, "indices.npy"), b = Fixtures.load(dir, "boxes_xyxy.npy");
        try (PointerScope scope = new PointerScope()) {
            LabelPooling p = LabelPooling.builder(1000).softmax(true).build();
            // A transposed-back view: same values, non-contiguous strides.
            Tensor st = Tensors.fromNdArray(s).transpose(2, 3).contiguous().transpose(2, 3);
            assertTrue(!st.is_contiguous());
            NdArray got = Tensors.toNdArray(TensorOps.apply(p, st, Tensors.fromNdArray(i), Tensors.fromNdArray(b), null));
            assertClose("targets", Fixtures.load(dir, "targets_softmax.npy"), got, 1e-5, 1e-7);
        }
    }

    @Test
    void gathersFromARecordTensor() {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("labelpool/edges_k5_15x15");
        NdArray s = Fixtures.load(dir, "scores.npy").astype(DType.FLOAT16), i = Fixtures.load(dir, "indices.npy").astype(DType.UINT16);
        NdArray b = Fixtures.load(dir, "boxes_xyxy.npy");
        MapFormat format = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        long[] slots = new long[16];
        for (int k = 0; k < 16; ++k) slots[k] = (k * 5) % 16;
        NdArray records = Records.pack(format, s, i, slots);
        try (PointerScope scope = new PointerScope()) {
            LabelPooling p = LabelPooling.builder(1000).mode(LabelPooling.Mode.PROBS).build();
            Tensor out = TensorOps.gather(p, Tensors.fromNdArray(records), format, Tensors.fromNdArray(NdArray.of(slots)),
                    Tensors.fromNdArray(b), null);
            assertArrayEquals(p.apply(s, i, b, null).toFloatArray(), Tensors.toNdArray(out).toFloatArray(), 0f);
        }
    }

    @Test
    void topkOnCpuTensors() {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("topk/c1000_k5_15x15");
        NdArray dense = Fixtures.load(dir, "dense.npy");
        try (PointerScope scope = new PointerScope()) {
            TensorOps.TopKTensors r = TensorOps.topk(TopK.of(5), Tensors.fromNdArray(dense));
            r.checkFinite();
            assertEquals(DType.FLOAT16, Tensors.dtype(r.scores()));
            assertEquals(DType.UINT16, Tensors.dtype(r.indices()));
            assertEquals(Fixtures.load(dir, "topk_scores_fp16.npy").buffer(), Tensors.toNdArray(r.scores()).buffer());
            assertArrayEquals(Fixtures.load(dir, "topk_indices.npy").toLongArray(), Tensors.toNdArray(r.indices()).toLongArray());
        }
    }

    @Test
    void tensorArgumentsAreValidated() {
        try (PointerScope scope = new PointerScope()) {
            Tensor scores = Tensors.fromNdArray(NdArray.zeros(DType.FLOAT32, 2, 1, 3, 3));
            Tensor ids = Tensors.fromNdArray(NdArray.zeros(DType.INT64, 2, 1, 3, 3));
            Tensor boxes = Tensors.fromNdArray(NdArray.zeros(DType.FLOAT32, 2, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorOps.apply(LabelPooling.builder(4).build(), scores, ids, boxes, null));
            assertTrue(e.getMessage().contains("indices: dtype int64 is not supported (expected [int32, uint16])"),
                    e.getMessage());
            Tensor int8 = scores.to(org.bytedeco.pytorch.global.torch.ScalarType.Char);
            e = assertThrows(IllegalArgumentException.class, () -> TensorOps.apply(LabelPooling.builder(4).build(), int8, ids, boxes, null));
            assertTrue(e.getMessage().contains("scores: unsupported tensor dtype Char"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> TensorOps.apply(LabelPooling.builder(4).build(), scores, null, boxes, null));
            assertTrue(e.getMessage().contains("indices must not be null"), e.getMessage());
        }
    }
}
