package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * TorchSaveWriter through our reader (and java.util.zip). Dev-time check, not repeated here: torch 1.13's
 * torch.load (also weights_only=True) read the same kinds of files (all dtypes below, nested checkpoints, zip64).
 */
class WriterTest {
    @TempDir
    Path tmp;

    private static NdArray random(DType dtype, Random r, long... shape) {
        NdArray a = NdArray.zeros(dtype, shape);
        for (long i = 0; i < a.numel(); ++i) {
            switch (dtype) {
                case INT64: a.setLong(i, r.nextLong()); break;
                case INT32: a.setLong(i, r.nextInt()); break;
                case UINT8: a.setLong(i, r.nextInt(256)); break;
                case BOOL: a.setLong(i, r.nextBoolean() ? 1 : 0); break;
                default: a.setFloat(i, (float) r.nextGaussian());
            }
        }
        return a;
    }

    private static void assertSameData(String what, NdArray want, NdArray got) {
        assertEquals(want.dtype(), got.dtype(), what + ": dtype");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        assertEquals(want.buffer(), got.buffer(), what + ": bytes");
    }

    private Map<String, Object> everyDtype() {
        Random r = new Random(1);
        Map<String, Object> sd = new LinkedHashMap<>();
        sd.put("conv1.weight", random(DType.FLOAT32, r, 4, 3, 3, 3));
        sd.put("half", random(DType.FLOAT16, r, 5, 7));
        sd.put("bf16", random(DType.BFLOAT16, r, 9));
        sd.put("double", random(DType.FLOAT64, r, 2, 2));
        sd.put("bn1.num_batches_tracked", NdArray.of(new long[] {123456789012L}).reshape());
        sd.put("ints", random(DType.INT64, r, 6));
        sd.put("int32", random(DType.INT32, r, 3, 1));
        sd.put("bytes", random(DType.UINT8, r, 300));
        sd.put("mask", random(DType.BOOL, r, 2, 5));
        sd.put("empty", NdArray.zeros(DType.FLOAT32, 0, 4));
        sd.put("emptier", NdArray.zeros(DType.FLOAT16, 3, 0, 2));
        return sd;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void roundTripsEveryDtype(boolean zip64) throws IOException {
        Map<String, Object> sd = everyDtype();
        Path f = tmp.resolve("sd.pth");
        TorchSaveWriter.write(f, sd, zip64);
        Map<String, TorchTensor> back = TorchSave.loadStateDict(f);
        assertEquals(new ArrayList<>(sd.keySet()), new ArrayList<>(back.keySet()), "keys in order");
        for (String k : sd.keySet()) {
            TorchTensor t = back.get(k);
            assertFalse(t.requiresGrad(), k);
            assertEquals("cpu", t.location(), k);
            assertSameData(k, (NdArray) sd.get(k), t.data());
        }
        assertEquals(0, back.get("bn1.num_batches_tracked").rank(), "0-d tensor");
    }

    /** The archive as torch writes it: entry names, stored, 64-byte aligned data, valid CRCs, version 3. */
    @Test
    void archiveLayout() throws IOException {
        Path f = tmp.resolve("layout.pth");
        TorchSaveWriter.writeStateDict(f, Map.of("a", NdArray.of(new float[] {1, 2, 3})));
        List<String> names = new ArrayList<>();
        byte[] raw = Files.readAllBytes(f);
        try (ZipFile z = new ZipFile(f.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                names.add(e.getName());
                assertEquals(ZipEntry.STORED, e.getMethod(), e.getName());
                z.getInputStream(e).readAllBytes();  // java.util.zip checks the CRC of stored entries
            }
            assertEquals("3\n", new String(z.getInputStream(z.getEntry("archive/version")).readAllBytes()));
            assertEquals("little", new String(z.getInputStream(z.getEntry("archive/byteorder")).readAllBytes()));
        }
        assertEquals(List.of("archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"), names);
        // Every local header's data offset is a multiple of 64.
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int headers = 0;
        for (int p = 0; p + 30 <= raw.length; ++p) {
            if (b.getInt(p) != 0x04034b50) continue;
            int data = p + 30 + (b.getShort(p + 26) & 0xffff) + (b.getShort(p + 28) & 0xffff);
            assertEquals(0, data % TorchSaveWriter.ALIGNMENT, "data of the entry at " + p);
            ++headers;
            p = data - 1;
        }
        assertEquals(4, headers);
    }

    @Test
    void checkpointValues() throws IOException {
        Map<String, Object> ck = new LinkedHashMap<>();
        ck.put("state_dict", Map.of("w", NdArray.of(new float[] {0.5f})));
        ck.put("epoch", 90);
        ck.put("step", 1L << 40);
        ck.put("neg", -70000);
        ck.put("huge", BigInteger.TWO.pow(100).negate());
        ck.put("lr", 0.1);
        ck.put("arch", "r\u00e9snet50 \u2713");
        ck.put("flags", List.of(true, false));
        ck.put("none", null);
        ck.put("tuple", PyTuple.of(1L, "x"));
        ck.put("raw", new byte[] {1, 2, 3});
        List<Object> many = new ArrayList<>();
        for (int i = 0; i < 2500; ++i) many.add((long) i);  // batched APPENDS, as Python writes them
        ck.put("many", many);
        Map<Object, Object> ints = new LinkedHashMap<>();
        for (int i = 0; i < 1500; ++i) ints.put((long) i, "v" + i);  // batched SETITEMS, int keys
        ck.put("ints", ints);
        Path f = tmp.resolve("ck.pth");
        TorchSaveWriter.write(f, ck);
        Map<?, ?> back = assertInstanceOf(Map.class, TorchSave.load(f));
        assertEquals(new ArrayList<>(ck.keySet()), new ArrayList<>(back.keySet()));
        Map<?, ?> sd = assertInstanceOf(Map.class, back.get("state_dict"));
        assertEquals(0.5f, ((TorchTensor) sd.get("w")).data().getFloat(0));
        assertEquals(90L, back.get("epoch"));
        assertEquals(1L << 40, back.get("step"));
        assertEquals(-70000L, back.get("neg"));
        assertEquals(BigInteger.TWO.pow(100).negate(), back.get("huge"));
        assertEquals(0.1, back.get("lr"));
        assertEquals("r\u00e9snet50 \u2713", back.get("arch"));
        assertEquals(List.of(true, false), back.get("flags"));
        assertEquals(null, back.get("none"));
        assertTrue(back.containsKey("none"));
        assertEquals(PyTuple.of(1L, "x"), back.get("tuple"));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) back.get("raw"));
        assertEquals(many, back.get("many"));
        assertEquals(ints, back.get("ints"));
    }

    @Test
    void deferredTensorsAreProducedOnceInOrder() throws IOException {
        List<String> calls = new ArrayList<>();
        Map<String, Object> sd = new LinkedHashMap<>();
        for (String k : List.of("a", "b", "c")) {
            sd.put(k, new TorchSaveWriter.Deferred(DType.FLOAT32, new long[] {2}, () -> {
                calls.add(k);
                return NdArray.of(new float[] {k.charAt(0), 1});
            }));
        }
        Path f = tmp.resolve("d.pth");
        TorchSaveWriter.writeStateDict(f, sd);
        assertEquals(List.of("a", "b", "c"), calls);
        assertEquals((float) 'b', TorchSave.loadStateDict(f).get("b").data().getFloat(0));
    }

    @Test
    void torchTensorsAreWrittenBack() throws IOException {
        Path a = tmp.resolve("a.pth"), b = tmp.resolve("b.pth");
        Map<String, Object> sd = everyDtype();
        TorchSaveWriter.write(a, sd);
        TorchSaveWriter.writeStateDict(b, TorchSave.loadStateDict(a));
        Map<String, TorchTensor> back = TorchSave.loadStateDict(b);
        for (String k : sd.keySet()) assertSameData(k, (NdArray) sd.get(k), back.get(k).data());
    }

    @Test
    void refusesWhatTorchCannotRead() throws IOException {
        Path f = tmp.resolve("bad.pth");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchSaveWriter.write(f, Map.of("u", NdArray.zeros(DType.UINT16, 2))));
        assertTrue(e.getMessage().contains("uint16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TorchSaveWriter.write(f, Map.of("x", new Object())));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
        Map<String, Object> wrong = Map.of("w", new TorchSaveWriter.Deferred(DType.FLOAT32, new long[] {3},
                () -> NdArray.of(new float[] {1, 2})));
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> TorchSaveWriter.write(f, wrong));
        assertTrue(s.getMessage().contains("float32[3]") && s.getMessage().contains("float32[2]"), s.getMessage());
        assertFalse(Files.exists(f), "nothing left behind");
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList(), "no temporary files left");
        }
    }

    @Test
    void replacesAnExistingFile() throws IOException {
        Path f = tmp.resolve("x.pth");
        Files.writeString(f, "old");
        TorchSaveWriter.writeStateDict(f, Map.of("v", NdArray.of(new long[] {4})));
        assertEquals(4L, TorchSave.loadStateDict(f).get("v").data().getLong(0));
        assertTrue(Arrays.asList(tmp.toFile().list()).equals(List.of("x.pth")));
    }
}
