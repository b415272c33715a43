package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    @Test
    void theTensorKeepsTheMappingAliveAfterTheStoreIsClosed() throws Exception {
        MapFormat f = new MapFormat(100, 3, 6, 6, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("pinned.rlm");
        LabelMapStoreTest.write(out, f, 32, 5);
        Torch.init();
        LabelMapStore s = LabelMapStore.open(out);
        byte[] want = new byte[(int) (32 * s.recordSize())];
        for (int i = 0; i < 32; ++i) s.recordView(i).get(want, (int) (i * s.recordSize()), (int) s.recordSize());
        try (PointerScope scope = new PointerScope()) {  // every tensor made here is freed when it closes
            Tensor t = TensorOps.records(s);
            assertEquals(1, s.pins());
            s.close();
            assertThrows(IllegalStateException.class, () -> s.find("k"), "the store is closed");
            assertEquals(1, s.pins(), "the tensor still pins the mapping");
            byte[] got = new byte[want.length];
            Tensors.toNdArray(t).buffer().get(got);  // reads the mapping: still mapped
            org.junit.jupiter.api.Assertions.assertArrayEquals(want, got);
        }
        // LibTorch freed the tensor: its deleter released the pin, and the file is unmapped
        assertEquals(0, s.pins());
    }
}
