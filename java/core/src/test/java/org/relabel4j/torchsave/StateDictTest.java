package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;

/**
 * State dicts written by torch 1.13 (src/test/resources/torchsave/generate.py) in the zip format (pickle protocols 2
 * and 4) and the legacy format: every tensor kind a checkpoint holds, and the non-tensor values beside them.
 */
class StateDictTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"state_dict_zip.pt", "state_dict_legacy.pt", "state_dict_p4.pt"})
    void readsEveryEntry(String name) throws IOException {
        Object o = TorchSave.load(TorchFiles.resource(name, tmp));
        Map<?, ?> sd = assertInstanceOf(Map.class, o);
        assertEquals(List.of("weight", "index", "mask", "transposed", "shared_a", "shared_b", "param", "half", "bf16",
                "i32", "u8", "scalar", "empty", "expanded", "nested"), List.copyOf(sd.keySet()), "insertion order");

        TorchTensor w = tensor(sd, "weight", DType.FLOAT32, 3, 4);
        for (int i = 0; i < 12; ++i) assertEquals(i / 4f, w.data().getFloat(i));

        TorchTensor index = tensor(sd, "index", DType.INT64, 5);
        assertArrayEquals(new long[] {0, -1, 1L << 40, -(1L << 62), 7}, index.data().toLongArray());

        TorchTensor mask = tensor(sd, "mask", DType.BOOL, 2, 3);
        assertArrayEquals(new long[] {1, 0, 1, 0, 0, 1}, mask.data().toLongArray());

        // base = arange(24).reshape(4, 6); transposed = base.t()[1:4]: stride (1, 6), offset 1
        TorchTensor t = tensor(sd, "transposed", DType.FLOAT32, 3, 4);
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 4; ++j) assertEquals(6 * j + i + 1, t.data().getFloat(4 * i + j), "transposed");

        // two views of one float64 storage arange(10): [2:5] and [6:].view(2, 2)
        TorchTensor a = tensor(sd, "shared_a", DType.FLOAT64, 3);
        TorchTensor b = tensor(sd, "shared_b", DType.FLOAT64, 2, 2);
        assertArrayEquals(new float[] {2, 3, 4}, a.data().toFloatArray());
        assertArrayEquals(new float[] {6, 7, 8, 9}, b.data().toFloatArray());

        TorchTensor p = tensor(sd, "param", DType.FLOAT32, 2, 2);
        assertTrue(p.requiresGrad(), "nn.Parameter");
        assertFalse(w.requiresGrad());
        assertArrayEquals(new float[] {.5f, .5f, .5f, .5f}, p.data().toFloatArray());

        TorchTensor half = tensor(sd, "half", DType.FLOAT16, 4);
        float[] hv = {1f, -2.5f, 65504f, 1e-4f};
        for (int i = 0; i < 4; ++i) assertEquals(Half.fromFloat(hv[i]), half.data().buffer().getShort(2 * i));

        TorchTensor bf = tensor(sd, "bf16", DType.BFLOAT16, 3);
        assertArrayEquals(new float[] {1, -3, 256}, bf.data().toFloatArray());

        TorchTensor i32 = tensor(sd, "i32", DType.INT32, 3);
        assertArrayEquals(new long[] {-7, 0, Integer.MAX_VALUE}, i32.data().toLongArray());

        TorchTensor u8 = tensor(sd, "u8", DType.UINT8, 3);
        assertArrayEquals(new long[] {0, 200, 255}, u8.data().toLongArray());

        TorchTensor scalar = tensor(sd, "scalar", DType.FLOAT32);
        assertEquals(0, scalar.rank());
        assertEquals(3.25f, scalar.data().getFloat(0));

        TorchTensor empty = tensor(sd, "empty", DType.FLOAT32, 0, 3);
        assertEquals(0, empty.data().numel());

        TorchTensor expanded = tensor(sd, "expanded", DType.FLOAT32, 2, 3);
        assertArrayEquals(new float[] {1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f}, expanded.data().toFloatArray());

        Map<?, ?> nested = assertInstanceOf(Map.class, sd.get("nested"));
        assertEquals(7L, nested.get("epoch"));
        assertEquals("resnet50", nested.get("arch"));
        assertEquals(0.25, nested.get("lr"));
        assertEquals(BigInteger.TWO.pow(70), nested.get("big"));
        assertEquals(-5L, nested.get("neg"));
        PyTuple tuple = assertInstanceOf(PyTuple.class, nested.get("tuple"));
        assertEquals(java.util.Arrays.asList(1L, "x", null, true), tuple);
        assertEquals(List.of(1L, 2.5), nested.get("list"));
        assertArrayEquals(new byte[] {0, (byte) 0xff}, (byte[]) nested.get("bytes"));
        PyObject device = assertInstanceOf(PyObject.class, nested.get("device"));
        assertEquals("torch.device", device.className());
        assertEquals(List.of("cpu"), device.args());
        assertEquals(new PyGlobal("torch", "float32"), nested.get("dtype"));
        assertArrayEquals(new long[] {0, 1, 2}, tensor(nested, "inner", DType.INT64, 3).data().toLongArray());
    }

    private static TorchTensor tensor(Map<?, ?> m, String key, DType dtype, long... shape) {
        TorchTensor t = assertInstanceOf(TorchTensor.class, m.get(key), key);
        assertEquals(dtype, t.dtype(), key);
        assertArrayEquals(shape, t.shape(), key);
        NdArray d = t.data();
        assertEquals(dtype, d.dtype(), key);
        assertArrayEquals(shape, d.shape(), key);
        return t;
    }

    @Test
    void loadStateDictKeepsTheTensorsOnly() throws IOException {
        Map<String, TorchTensor> sd = TorchSave.loadStateDict(TorchFiles.resource("state_dict_zip.pt", tmp));
        assertEquals(14, sd.size());
        assertFalse(sd.containsKey("nested"), "a dict value is skipped");
        assertEquals("weight", sd.keySet().iterator().next());
        TorchSaveException e = org.junit.jupiter.api.Assertions.assertThrows(TorchSaveException.class,
                () -> TorchSave.loadTensor(TorchFiles.resource("state_dict_zip.pt", tmp)));
        assertTrue(e.getMessage().contains("holds a dict, not a single tensor"), e.getMessage());
    }

    @Test
    void theFormatsAgree() throws IOException {
        Map<String, TorchTensor> zip = TorchSave.loadStateDict(TorchFiles.resource("state_dict_zip.pt", tmp));
        Map<String, TorchTensor> legacy = TorchSave.loadStateDict(TorchFiles.resource("state_dict_legacy.pt", tmp));
        Map<String, TorchTensor> p4 = TorchSave.loadStateDict(TorchFiles.resource("state_dict_p4.pt", tmp));
        for (String k : zip.keySet()) {
            assertEquals(zip.get(k).data().buffer(), legacy.get(k).data().buffer(), k);
            assertEquals(zip.get(k).data().buffer(), p4.get(k).data().buffer(), k);
            assertEquals(zip.get(k).requiresGrad(), legacy.get(k).requiresGrad(), k);
        }
    }

    @Test
    void protocol4SetsAndFrozensets() throws IOException {
        Map<?, ?> m = assertInstanceOf(Map.class, TorchSave.load(TorchFiles.resource("protocol4_misc.pt", tmp)));
        assertEquals(Set.of(3L, "a"), m.get("s"));
        assertEquals(Set.of(1L), m.get("f"));
        assertArrayEquals(new float[] {1, 1}, ((TorchTensor) m.get("t")).data().toFloatArray());
    }

    /** Legacy format at pickle protocol 1: no PROTO opcode, the magic number as a text LONG. */
    @Test
    void legacyAtProtocol1() throws IOException {
        Map<String, TorchTensor> m = TorchSave.loadStateDict(TorchFiles.resource("param_legacy_p1.pt", tmp));
        assertTrue(m.get("p").requiresGrad());
        assertArrayEquals(new float[] {0, 1, 2, 3}, m.get("p").data().toFloatArray());
    }

    @Test
    void singleTensorInTheLegacyFormat() throws IOException {
        TorchTensor t = TorchSave.loadTensor(TorchFiles.resource("single_legacy_p2.pt", tmp));
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, t.data().toFloatArray());
    }
}
