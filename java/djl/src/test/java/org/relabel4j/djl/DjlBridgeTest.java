package org.relabel4j.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.loader.LoaderTestAccess;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;

/**
 * The DJL bridge, tested against DJL's buffer contract ({@link BufferNDManager}: no DJL engine runs offline here):
 * NdArray to DJL and back share memory where both sides have direct buffers, copy otherwise, keep shape, type and
 * values; the loader as a DJL Dataset gives the loader's own images, targets and boxes.
 */
class DjlBridgeTest {
    @TempDir Path tmp;

    @Test
    void toDjlAndBackShareDirectMemory() {
        try (NDManager m = BufferNDManager.newManager()) {
            NdArray a = NdArray.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            NDArray x = DjlArrays.toDjl(a, m);
            assertEquals(new Shape(2, 3), x.getShape());
            assertEquals(DataType.FLOAT32, x.getDataType());
            a.setFloat(4, 42f);  // no copy: the DJL array sees the write
            assertEquals(42f, x.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).getFloat(4 * 4));
            NdArray back = DjlArrays.fromDjl(x);
            assertArrayEquals(new long[] {2, 3}, back.shape());
            assertEquals(DType.FLOAT32, back.dtype());
            assertArrayEquals(new float[] {1, 2, 3, 4, 42, 6}, back.toFloatArray());
            back.setFloat(0, -1f);  // the NdArray is a view of the DJL array's memory
            assertEquals(-1f, a.getFloat(0));
        }
    }

    @Test
    void everyTypeRoundTripsAndAHeapBufferIsCopied() {
        try (NDManager m = BufferNDManager.newManager()) {
            for (DType d : DType.values()) {
                NdArray a = NdArray.zeros(d, 3, 2);
                for (int i = 0; i < a.nbytes(); ++i) a.buffer().put(i, (byte) (i * 7 + 1));
                NdArray back = DjlArrays.fromDjl(DjlArrays.toDjl(a, m));
                assertEquals(d, back.dtype());
                assertArrayEquals(a.shape(), back.shape());
                for (int i = 0; i < a.nbytes(); ++i)
                    assertEquals(a.buffer().get(i), back.buffer().get(i), d + " byte " + i);
            }
            ByteBuffer heap = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 77L);
            NDArray h = m.create(heap, new Shape(1), DataType.INT64);
            NdArray copy = DjlArrays.fromDjl(h);
            heap.putLong(0, 5L);
            assertEquals(77L, copy.getLong(0), "a heap buffer is copied");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DjlArrays.fromDjl(m.create(ByteBuffer.allocateDirect(2).order(ByteOrder.nativeOrder()),
                            new Shape(2), DataType.INT8)));
            assertTrue(e.getMessage().contains("int8"), e.getMessage());
        }
    }

    @Test
    void theLoaderAsADjlDatasetGivesItsImagesTargetsAndBoxes() throws Exception {
        Path root = LoaderTestAccess.writeDataset(tmp);
        var ds = Datasets.open("imagefolder:" + root);
        try (LabelMapStore store = LabelMapStore.open(LoaderTestAccess.writeStore(tmp, ds, Set.of()))) {
            LabelPooling pooling = LabelPooling.builder(10).build();
            List<float[]> want = new ArrayList<>();
            List<float[]> wantBoxes = new ArrayList<>();
            try (Loader l = LoaderTestAccess.loader(ds, store, pooling); Loader.Epoch e = l.epoch(0)) {
                while (e.hasNext()) {
                    try (org.relabel4j.data.loader.Batch b = e.next()) {
                        want.add(b.targets().toFloatArray());
                        wantBoxes.add(b.boxes().toFloatArray());
                    }
                }
            }
            try (Loader l = LoaderTestAccess.loader(ds, store, pooling);
                    BufferNDManager m = BufferNDManager.newManager()) {
                DjlLoaderDataset d = new DjlLoaderDataset(l, 0);
                int i = 0;
                for (Batch b : d.getData(m)) {
                    try (b) {
                        assertEquals(1, b.getData().size());
                        assertEquals(2, b.getLabels().size());
                        NDArray images = b.getData().get(0);
                        assertEquals(new Shape(b.getSize(), 3, 16, 16), images.getShape());
                        assertArrayEquals(want.get(i), DjlArrays.fromDjl(b.getLabels().get(0)).toFloatArray(), 0f);
                        assertArrayEquals(wantBoxes.get(i), DjlArrays.fromDjl(b.getLabels().get(1)).toFloatArray(), 0f);
                        assertEquals(i + 1, b.getProgress());
                        assertEquals(l.batchesPerEpoch(), b.getProgressTotal());
                    }
                    ++i;
                }
                assertEquals(want.size(), i);
                assertEquals(1, d.nextEpoch());
                assertFalse(m.isOpen() && m.getManagedArrays().size() > 0, "closed batches freed their arrays");
            }
        }
    }
}
