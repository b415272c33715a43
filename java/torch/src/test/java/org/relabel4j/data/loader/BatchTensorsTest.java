package org.relabel4j.data.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** {@link BatchTensors}: a loader's batches on a LibTorch device (the data set and store of {@link LoaderTest}). */
class BatchTensorsTest {
    @TempDir Path tmp;

    @Test
    void targetsOnATorchDeviceEqualTheHostTargets() throws IOException {
        LoaderTest base = new LoaderTest();
        base.tmp = tmp;
        base.writeDataset();
        Dataset ds = Datasets.open("imagefolder:" + base.root);
        Torch.init();
        try (LabelMapStore store = LabelMapStore.open(base.writeStore(ds, Set.of()));
                PointerScope scope = new PointerScope()) {
            LabelPooling pooling = LabelPooling.builder(10).mode(LabelPooling.Mode.PROBS).build();
            Tensor records = TensorOps.records(store);  // a CUDA node would .to(cuda) it once
            try (Loader l = Loader.builder(ds, LoaderTest.plainTrain(16)).batchSize(8).workers(1).seed(2)
                    .labelMaps(store, pooling, false).build()) {
                for (Batch b : LoaderTest.epoch(l, 0)) {
                    NdArray onDevice = Tensors.toNdArray(BatchTensors.targets(b, pooling, records, store.format()));
                    assertArrayEquals(b.targets().toFloatArray(), onDevice.toFloatArray(), 0f);
                    assertArrayEquals(b.images().shape(), Tensors.shape(BatchTensors.images(b, records.device())));
                }
            }
        }
    }
}
