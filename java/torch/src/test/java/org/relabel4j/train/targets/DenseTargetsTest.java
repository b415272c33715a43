package org.relabel4j.train.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.tensor;
import static org.relabel4j.torch.TestTensors.values;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainData;

/**
 * Dense S x S targets: the loader's are the op's output for the same crops and flips (a flipped crop's the mirror of
 * the unflipped one), the device path's equal the loader's, samples without a map carry their label in every cell,
 * gt_mix blends the label into every cell, and CutMix mixes cells by MixToken's rule.
 */
class DenseTargetsTest {
    static final int S = 3;

    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    static LabelPooling pooling(int s) {
        return LabelPooling.builder(3).softmax(true).temperature(0.7f).outputSize(s).build();
    }

    @Test
    void loaderDenseTargetsAreTheOpsOutputAndMirroredForFlippedCrops() throws IOException {
        // Maps whose second class varies along x, so that a mirrored target differs from the unflipped one.
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        Dataset train = Datasets.open("imagefolder:" + data.resolve("train"));
        TrainTransform transform = new TrainTransform(24, new RandomResizedCrop(0.2, 1.0, 3.0 / 4, 4.0 / 3), true, null,
                null, Normalization.IMAGENET);
        LabelPooling global = pooling(1), dense = pooling(S);
        int flipped = 0, differing = 0;
        try (LabelMapStore store = LabelMapStore.open(maps);
                Loader loader = Loader.builder(train, transform).batchSize(16).workers(2).seed(5)
                        .labelMaps(store, global, false).densePooling(dense).build();
                Loader.Epoch epoch = loader.epoch(0)) {
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    float[] got = b.denseTargets().toFloatArray();
                    assertArrayEquals(new long[] {b.size(), 3, S, S}, b.denseTargets().shape());
                    assertArrayEquals(dense.gather(store.records(), b.recordIndices(), b.boxes(), b.flips()).toFloatArray(),
                            got, 0f, "the op's S x S output for the batch's boxes and flips");
                    assertArrayEquals(global.gather(store.records(), b.recordIndices(), b.boxes(), b.flips()).toFloatArray(),
                            b.targets().toFloatArray(), 0f, "the global targets as before");
                    float[] unflipped = dense.gather(store.records(), b.recordIndices(), b.boxes(), null).toFloatArray();
                    for (int i = 0; i < b.size(); ++i) {
                        if (b.flips().getLong(i) == 0) continue;
                        ++flipped;
                        boolean differs = false;
                        for (int c = 0; c < 3; ++c) {
                            for (int y = 0; y < S; ++y) {
                                for (int x = 0; x < S; ++x) {
                                    int at = ((i * 3 + c) * S + y) * S + x, mirror = ((i * 3 + c) * S + y) * S + (S - 1 - x);
                                    assertEquals(unflipped[mirror], got[at], 0f, "sample " + i + " c" + c + " y" + y + " x" + x);
                                    differs |= unflipped[at] != got[at];
                                }
                            }
                        }
                        if (differs) ++differing;
                    }
                }
            }
            Loader.Stats stats = loader.stats();
            assertTrue(stats.labelNanos() > 0);
        }
        assertTrue(flipped > 10, "flipped crops: " + flipped);
        assertTrue(differing > 10, "the mirror is not the unflipped target: " + differing);
    }

    @Test
    void theDevicePathPoolsTheSameDenseTargetsAndMissingMapsAreTheLabelInEveryCell() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("some.rlm"), (label, i) -> (label + 1) % 3, i -> i % 5 != 0);
        Dataset train = Datasets.open("imagefolder:" + data.resolve("train"));
        TrainTransform transform = new TrainTransform(24, new RandomResizedCrop(0.2, 1.0, 3.0 / 4, 4.0 / 3), true, null,
                null, Normalization.IMAGENET);
        LabelPooling dense = pooling(S);
        int missing = 0;
        try (LabelMapStore store = LabelMapStore.open(maps);
                Loader loader = Loader.builder(train, transform).batchSize(16).workers(1).seed(7)
                        .labelMaps(store, pooling(1), true).densePooling(dense).build();
                Loader.Epoch epoch = loader.epoch(0)) {
            Tensor records = TensorOps.records(store);
            for (int k = 0; k < 3; ++k) {
                try (Batch b = epoch.next(); PointerScope scope = new PointerScope()) {
                    Tensor images = BatchTensors.images(b, Devices.torchDevice("cpu"));
                    StepBatch sb = new StepBatch(b, images, StepBatch.toDeviceOf(b.labels(), images), null, 3);
                    float[] pooled = values(new LoaderDenseTargets().targets(sb));
                    float[] device = values(new ResidentPooledTargets(dense, records, store.format()).targets(sb));
                    assertArrayEquals(pooled, device, 1e-6f);
                    for (int i = 0; i < b.size(); ++i) {
                        if (b.recordIndices().getLong(i) >= 0) continue;
                        ++missing;
                        long label = b.labels().getLong(i);
                        for (int c = 0; c < 3; ++c)
                            for (int p = 0; p < S * S; ++p)
                                assertEquals(c == label ? 1f : 0f, pooled[(i * 3 + c) * S * S + p], 0f);
                    }
                }
            }
        }
        assertTrue(missing > 0, "some samples without a map");
    }

    /** Two samples (labels 0 and 1) of 4 x 4 images, two classes, 2 x 2 cells. */
    static StepBatch batch(CutMix.Mix mix) {
        Tensor labels = Tensors.fromNdArray(NdArray.of(new long[] {0, 1}));
        return new StepBatch(null, tensor(new float[2 * 3 * 4 * 4], 2, 3, 4, 4), labels, mix, 2);
    }

    /** Sample 0: [1, 0] in every cell; sample 1: cell k (row-major) [0.1 (k + 1), 1 - 0.1 (k + 1)]. */
    static final float[] CELLS = {1, 1, 1, 1, 0, 0, 0, 0, 0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.8f, 0.7f, 0.6f};

    @Test
    void cutMixGivesThePastedCellsTheOtherImagesTargetsCellByCell() {
        try (PointerScope s = new PointerScope()) {
            // The box covers the top-left cell exactly (rows 0-1, columns 0-1 of 4): it takes the other image's cell.
            CutMix.Mix cell = new CutMix.Mix(0.75, 0, 2, 0, 2, new long[] {1, 0});
            CutMix cutmix = new CutMix(1, 1, 0, 1, 0);
            float[] got = values(cutmix.apply(tensor(CELLS, 2, 2, 2, 2), batch(cell)));
            assertArrayEquals(new float[] {0.1f, 1, 1, 1, 0.9f, 0, 0, 0,   // sample 0: cell 0 from sample 1
                1, 0.2f, 0.3f, 0.4f, 0, 0.8f, 0.7f, 0.6f},                  // sample 1: cell 0 from sample 0
                    got, 1e-6f);
            // The global target of the same step mixes by area (lambda 0.75).
            float[] global = values(cutmix.apply(tensor(new float[] {1, 0, 0.25f, 0.75f}, 2, 2), batch(cell)));
            assertArrayEquals(new float[] {0.8125f, 0.1875f, 0.4375f, 0.5625f}, global, 1e-6f);

            // A box of rows 0-2 (of 4): the bottom-left cell is half covered and mixed by half.
            CutMix.Mix partial = new CutMix.Mix(0.625, 0, 3, 0, 2, new long[] {1, 0});
            assertArrayEquals(new float[] {1, 0, 0.5f, 0}, CutMix.cellFractions(partial, 4, 4, 2, 2), 0f);
            got = values(CutMix.mixCells(tensor(CELLS, 2, 2, 2, 2), partial, 4, 4));
            assertEquals(0.1f, got[0], 1e-6f);
            assertEquals(0.5f * 1 + 0.5f * 0.3f, got[2], 1e-6f);
            assertEquals(0.5f * 0 + 0.5f * 0.7f, got[6], 1e-6f);
            assertEquals(1f, got[1], 0f);
            // The cells' fractions add up to the box's area: the cells mix by the global lambda on average.
            float[] f = CutMix.cellFractions(new CutMix.Mix(0, 1, 7, 2, 5, new long[] {0}), 8, 8, 3, 3);
            double sum = 0;
            for (float v : f) sum += v * (64.0 / 9);
            assertEquals(6 * 3, sum, 1e-4);
        }
    }

    @Test
    void gtMixAndSmoothingApplyToEveryCell() {
        try (PointerScope s = new PointerScope()) {
            float[] got = values(new GtMix(0.5).apply(tensor(CELLS, 2, 2, 2, 2), batch(null)));
            assertArrayEquals(new float[] {1, 1, 1, 1, 0, 0, 0, 0, 0.05f, 0.1f, 0.15f, 0.2f, 0.95f, 0.9f, 0.85f, 0.8f},
                    got, 1e-6f);
            TargetPipeline p = TargetPipeline.of(sb -> tensor(CELLS, 2, 2, 2, 2), 0.5, 0.2, null);
            float[] chained = values(p.targets(batch(null)));
            for (int i = 0; i < chained.length; ++i) assertEquals(got[i] * 0.8f + 0.1f, chained[i], 1e-6f);
        }
    }
}
