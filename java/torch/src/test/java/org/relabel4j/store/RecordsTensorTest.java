package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** {@link TensorOps#records}: the store's mapped records as a uint8 tensor, byte for byte. */
class RecordsTensorTest {
    @TempDir Path tmp;

    @Test
    void recordsTensorViewsTheMappedRecords() throws Exception {
        MapFormat f = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("maps.rlm");
        LabelMapStoreTest.write(out, f, 64, 3);
        Torch.init();
        try (LabelMapStore s = LabelMapStore.open(out); PointerScope scope = new PointerScope()) {
            Tensor t = TensorOps.records(s);
            assertArrayEquals(new long[] {64, s.recordSize()}, Tensors.shape(t));
            assertEquals(DType.UINT8, Tensors.dtype(t));
            NdArray copy = Tensors.toNdArray(t);
            for (int i : new int[] {0, 17, 63})
                for (int j = 0; j < s.recordSize(); j += 97)
                    assertEquals(s.recordView(i).get(j), copy.buffer().get((int) (i * s.recordSize() + j)), "record " + i);
        }
    }
}
