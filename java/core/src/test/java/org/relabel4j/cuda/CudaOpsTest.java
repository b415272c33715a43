package org.relabel4j.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.relabel4j.testing.Close.assertClose;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.TopK;
import org.relabel4j.testing.Fixtures;

/**
 * The CUDA twins through the Java API (host arrays computed on the device), against the fixtures and the CPU.
 * Skipped, saying why, on machines without a usable GPU; without one, CUDA requests fail with a clear error.
 */
class CudaOpsTest {
    @Test
    void withoutAGpuCudaRequestsSayWhy() {
        assumeTrue(Cuda.deviceCount() == 0, "a GPU is present");
        assertNotNull(Cuda.unavailableReason());
        NdArray s = NdArray.zeros(DType.FLOAT32, 1, 1, 2, 2);
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> LabelPooling.builder(2).build()
                .applyOnCuda(0, s, NdArray.zeros(DType.INT32, 1, 1, 2, 2), NdArray.of(new float[] {0, 0, 1, 1}, 1, 4), null));
        assertEquals("CUDA is not available: " + Cuda.unavailableReason(), e.getMessage());
    }

    @BeforeEach
    void requireGpu(org.junit.jupiter.api.TestInfo info) {
        if (info.getTestMethod().map(m -> m.getName().startsWith("withoutAGpu")).orElse(false)) return;
        String reason = Cuda.unavailableReason();
        if (reason != null) System.err.println("SKIPPED " + info.getDisplayName() + ": no usable GPU: " + reason);
        assumeTrue(reason == null, "no usable GPU: " + reason);
        Fixtures.assumePresent();
    }

    @Test
    void labelPoolingMatchesFixturesAndCpu() {
        for (Path dir : Fixtures.cases("labelpool")) {
            NdArray s = Fixtures.load(dir, "scores.npy"), i = Fixtures.load(dir, "indices.npy"), b = Fixtures.load(dir, "boxes_xyxy.npy");
            NdArray pooled = Fixtures.load(dir, "pooled_1x1.npy");
            int classes = (int) pooled.shape(1);
            double atol = 1e-5 * org.relabel4j.testing.Close.maxAbs(pooled);
            assertClose(dir + " pooled", pooled, LabelPooling.builder(classes).build().applyOnCuda(0, s, i, b, null), 1e-5, atol);
            assertClose(dir + " softmax", Fixtures.load(dir, "targets_softmax.npy"),
                    LabelPooling.builder(classes).softmax(true).build().applyOnCuda(0, s, i, b, null), 1e-5, 1e-7);
            assertClose(dir + " probs", Fixtures.load(dir, "targets_probs.npy"), LabelPooling.builder(classes)
                    .mode(LabelPooling.Mode.PROBS).build().applyOnCuda(0, s, i, b, null), 1e-5, 1e-7);
            LabelPooling dense = LabelPooling.builder(classes).outputSize(3).softmax(true).build();
            NdArray flips = NdArray.of(new boolean[(int) s.shape(0)]);
            for (long k = 0; k < flips.numel(); k += 2) flips.setLong(k, 1);
            assertClose(dir + " 3x3 cuda vs cpu", dense.apply(s, i, b, flips), dense.applyOnCuda(0, s, i, b, flips), 1e-5, 1e-7);
        }
    }

    @Test
    void topkMatchesFixtures() {
        for (Path dir : Fixtures.cases("topk")) {
            NdArray dense = Fixtures.load(dir, "dense.npy"), ids = Fixtures.load(dir, "topk_indices.npy");
            TopK.Result r = TopK.of((int) ids.shape(1)).applyOnCuda(0, dense);
            assertEquals(Fixtures.load(dir, "topk_scores_fp16.npy").buffer(), r.scores().buffer());
            assertArrayEquals(ids.toLongArray(), r.indices().toLongArray());
        }
        NdArray bad = NdArray.zeros(DType.FLOAT32, 1, 4, 2, 2);
        bad.setFloat(3, Float.NaN);
        assertThrows(IllegalArgumentException.class, () -> TopK.of(2).applyOnCuda(0, bad));
    }
}
