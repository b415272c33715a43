package org.relabel4j.nd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.testing.Fixtures;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsEveryDtype() throws IOException {
        for (DType t : DType.values()) {
            if (t.npyDescr() == null) continue;
            NdArray a = NdArray.zeros(t, 2, 3, 4);
            for (long i = 0; i < a.numel(); ++i) a.setFloat(i, (i * 7) % 5);
            Path f = tmp.resolve(t.label() + ".npy");
            Npy.write(f, a);
            NdArray b = Npy.read(f);
            assertEquals(t, b.dtype());
            assertArrayEquals(a.shape(), b.shape());
            assertEquals(a.buffer(), b.buffer());
            assertEquals(0, (Files.size(f) - a.nbytes()) % 64, "data starts 64-byte aligned");
        }
        NdArray scalar = NdArray.zeros(DType.FLOAT32);
        Npy.write(tmp.resolve("scalar.npy"), scalar);
        assertEquals(0, Npy.read(tmp.resolve("scalar.npy")).rank());
        NdArray vector = NdArray.of(new float[] {1, 2, 3});
        Npy.write(tmp.resolve("v.npy"), vector);
        assertArrayEquals(new long[] {3}, Npy.read(tmp.resolve("v.npy")).shape());
    }

    @Test
    void readsTheFixturesWrittenByNumPy() {
        Fixtures.assumePresent();
        NdArray s = Fixtures.load(Fixtures.root().resolve("labelpool/imagenet_k5_15x15"), "scores.npy");
        assertArrayEquals(new long[] {64, 5, 15, 15}, s.shape());
        assertEquals(DType.FLOAT32, s.dtype());
        NdArray h = Fixtures.load(Fixtures.root().resolve("topk/c37_k3_6x9"), "topk_scores_fp16.npy");
        NdArray f = Fixtures.load(Fixtures.root().resolve("topk/c37_k3_6x9"), "topk_scores.npy");
        assertEquals(DType.FLOAT16, h.dtype());
        for (long i = 0; i < f.numel(); ++i) assertEquals(Half.fromFloat(f.getFloat(i)), h.buffer().getShort((int) i * 2));
    }

    @Test
    void badFilesNameTheFileAndTheProblem() throws IOException {
        assertProblem(write("short.npy", new byte[] {1, 2, 3}), "short.npy: too short to be a .npy file");
        assertProblem(write("magic.npy", "NOTNUMPYFILE0123".getBytes(StandardCharsets.ISO_8859_1)), "magic.npy: not a .npy file");
        assertProblem(header("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8),
                "fortran.npy: Fortran-order arrays are not supported");
        assertProblem(header("big.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8),
                "big.npy: big-endian dtype '>f4' is not supported");
        assertProblem(header("cplx.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16),
                "cplx.npy: unsupported .npy dtype '<c8'");
        assertProblem(header("trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 8),
                "trunc.npy: truncated data: shape (2, 3) of <f4 needs 24 bytes, the file has 8");
        assertProblem(header("garbage.npy", "{'descr': '<f4'}", 0), "garbage.npy: malformed header");
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Npy.read(tmp.resolve("missing.npy")));
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        Path f = tmp.resolve("out.npy");
        Npy.write(f, NdArray.of(new float[] {1, 2}));
        Npy.write(f, NdArray.of(new float[] {3, 4, 5}));
        assertArrayEquals(new float[] {3, 4, 5}, Npy.read(f).toFloatArray());
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(1, files.count(), "only the final file remains");
        }
        // A write that cannot complete (no .npy form) leaves the previous file intact.
        assertThrows(IllegalArgumentException.class, () -> Npy.write(f, NdArray.zeros(DType.BFLOAT16, 2)));
        assertArrayEquals(new float[] {3, 4, 5}, Npy.read(f).toFloatArray());
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private Path header(String name, String dict, int dataBytes) throws IOException {
        byte[] h = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length).put(h);
        return write(name, b.array());
    }

    private static void assertProblem(Path file, String expected) {
        IOException e = assertThrows(IOException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}
