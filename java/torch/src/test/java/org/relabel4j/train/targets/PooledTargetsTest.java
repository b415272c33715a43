package org.relabel4j.train.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.values;

import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainData;

/**
 * ReLabel's two target sources alone: the loader's pooled targets and the device path's (pooling from the store's
 * records as a tensor, here on the CPU) agree crop for crop, and samples without a map get their one-hot label.
 */
class PooledTargetsTest {
    @TempDir
    static Path data;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }


    /** Two batches of 16 crops from the store at {@code maps}; each source's targets compared with the loader's. */
    static int compare(Path maps, boolean allowMissing) throws IOException {
        Dataset train = Datasets.open("imagefolder:" + data.resolve("train"));
        LabelPooling pooling = LabelPooling.builder(3).softmax(true).temperature(0.7f).build();
        TrainTransform transform = new TrainTransform(24, new RandomResizedCrop(0.2, 1.0, 3.0 / 4, 4.0 / 3), true, null,
                null, Normalization.IMAGENET);
        int oneHotRows = 0;
        try (LabelMapStore store = LabelMapStore.open(maps);
                Loader loader = Loader.builder(train, transform).batchSize(16).workers(1).seed(5).shuffle(true)
                        .labelMaps(store, pooling, allowMissing).build();
                Loader.Epoch epoch = loader.epoch(0)) {
            Tensor records = TensorOps.records(store);
            for (int i = 0; i < 2; ++i) {
                try (Batch batch = epoch.next(); PointerScope scope = new PointerScope()) {
                    Tensor images = BatchTensors.images(batch, Devices.torchDevice("cpu"));
                    StepBatch sb = new StepBatch(batch, images, StepBatch.toDeviceOf(batch.labels(), images), null, 3);
                    float[] expected = batch.targets().toFloatArray();
                    assertArrayEquals(expected, values(new LoaderPooledTargets().targets(sb)), 0f);
                    float[] resident = values(new ResidentPooledTargets(pooling, records, store.format()).targets(sb));
                    assertArrayEquals(expected, resident, 1e-6f, "the device path pools what the loader pools");
                    for (int b = 0; b < batch.size(); ++b) {
                        if (batch.recordIndices().getLong(b) >= 0) continue;
                        ++oneHotRows;
                        int label = (int) batch.labels().getLong(b);
                        for (int c = 0; c < 3; ++c) assertEquals(c == label ? 1f : 0f, resident[3 * b + c], 0f);
                    }
                }
            }
        }
        return oneHotRows;
    }

    @Test
    void bothSourcesPoolTheSameTargets() throws IOException {
        Path maps = TrainData.store(data, data.resolve("all.rlm"), (label, i) -> (label + i) % 3);
        assertEquals(0, compare(maps, false));
    }

    @Test
    void samplesWithoutAMapTrainOnTheirLabel() throws IOException {
        Path maps = TrainData.store(data, data.resolve("half.rlm"), (label, i) -> (label + 1) % 3, i -> i % 2 == 0);
        assertTrue(compare(maps, true) > 4, "some of the 32 crops have no map");
    }
}
