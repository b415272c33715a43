package org.relabel4j.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.torch.Tensors;

/** Helpers of the model tests: resources, host copies. */
final class ModelTesting {
    private ModelTesting() {}

    /** One line of a torchvision layout listing: name, param|buffer, dtype, shape. */
    record Entry(String name, String kind, String dtype, long[] shape) {
        String shapeText() {
            return java.util.Arrays.toString(shape);
        }
    }

    static List<String> resourceLines(String name) {
        try (InputStream in = ModelTesting.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("#")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Entry entry(String line) {
        String[] f = line.split("\t", -1);
        long[] shape = f[3].isEmpty() ? new long[0] : java.util.Arrays.stream(f[3].split(",")).mapToLong(Long::parseLong).toArray();
        return new Entry(f[0], f[1], f[2], shape);
    }

    /** The full layout listing of resnet18.txt / resnet50.txt. */
    static List<Entry> layout(String arch) {
        List<Entry> out = new ArrayList<>();
        for (String l : resourceLines(arch + ".txt")) out.add(entry(l));
        return out;
    }

    /** A test resource copied to a file (LibTorch and the readers take paths). */
    static Path resourceFile(Path dir, String name) throws IOException {
        Path f = dir.resolve(name);
        try (InputStream in = ModelTesting.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            Files.copy(in, f);
        }
        return f;
    }

    static NdArray npy(Path dir, String name) throws IOException {
        return Npy.read(resourceFile(dir, name));
    }

    static NdArray host(Tensor t) {
        return Tensors.toNdArray(t.detach());
    }

    static float[] floats(Tensor t) {
        return host(t).toFloatArray();
    }

    // ---- deterministic weights and inputs by closed formulas (the same as make_parity.py's) ----

    /**
     * Entry {@code k} (0-based, in state-dict order) of a torchvision-layout state dict, named {@code name}, of
     * {@code shape}: float32 values from {@code s = 2 u(i, k) - 1} at flat index {@code i} ({@link #hash01}), scaled
     * by the kind of tensor (4-D conv weight {@code sqrt(6/fan_in) s}, 2-D fc weight {@code 1/sqrt(in) s},
     * {@code running_var} {@code 1 + 0.5 s^2}, {@code running_mean} {@code 0.1 s}, other 1-D {@code .weight}
     * {@code 1 + 0.25 s}, {@code .bias} {@code 0.1 s}), computed in double and rounded to float; a
     * {@code num_batches_tracked} is the int64 {@code k}. make_parity.py's {@code value} computes the same.
     */
    static NdArray formula(String name, int k, long[] shape) {
        if (name.endsWith("num_batches_tracked")) {
            NdArray a = NdArray.zeros(DType.INT64, shape);
            for (long i = 0; i < a.numel(); ++i) a.setLong(i, k);
            return a;
        }
        NdArray a = NdArray.zeros(DType.FLOAT32, shape);
        java.nio.FloatBuffer out = a.buffer().asFloatBuffer();
        for (int i = 0; i < a.numel(); ++i) {
            double s = 2.0 * hash01(i, k) - 1.0, v;
            if (shape.length == 4) v = Math.sqrt(6.0 / (shape[1] * shape[2] * shape[3])) * s;
            else if (shape.length == 2) v = (1.0 / Math.sqrt(shape[1])) * s;
            else if (name.endsWith("running_var")) v = 1.0 + 0.5 * s * s;
            else if (name.endsWith("running_mean")) v = 0.1 * s;
            else if (name.endsWith(".weight")) v = 1.0 + 0.25 * s;
            else if (name.endsWith(".bias")) v = 0.1 * s;
            else throw new IllegalArgumentException("no formula for " + name);
            out.put(i, (float) v);
        }
        return a;
    }

    /** A 32-bit integer mix of {@code i * 2654435761 + k * 40503 + 12345 (mod 2^32)}, over 2^32: in [0, 1). */
    static double hash01(long i, long k) {
        final long m = 0xffffffffL;
        long h = (i * 2654435761L + (k * 40503 + 12345)) & m;
        h ^= h >>> 15;
        h = (h * 2246822519L) & m;  // the product wraps mod 2^64: its low 32 bits are still right
        h ^= h >>> 13;
        h = (h * 3266489917L) & m;
        h ^= h >>> 16;
        return h / 4294967296.0;
    }

    /** {@link #formula} for every entry of a model's state dict (its names, shapes and order). */
    static Map<String, NdArray> formulaStateDict(Classifier c) {
        Map<String, NdArray> out = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope()) {
            int k = 0;
            for (Map.Entry<String, Tensor> e : c.stateDict().entrySet()) {
                out.put(e.getKey(), formula(e.getKey(), k++, Tensors.shape(e.getValue())));
            }
        }
        return out;
    }

    /** Images {@code [n,3,h,w]}: element j (flat) {@code sin(0.011 j + 0.3) + 0.5 sin(0.0537 j)} (make_parity.py's). */
    static NdArray image(long n, long h, long w) {
        NdArray a = NdArray.zeros(DType.FLOAT32, n, 3, h, w);
        java.nio.FloatBuffer out = a.buffer().asFloatBuffer();
        for (int j = 0; j < a.numel(); ++j) out.put(j, (float) (Math.sin(0.011 * j + 0.3) + 0.5 * Math.sin(0.0537 * j)));
        return a;
    }

    /** The largest |got - want|, after checking the shapes agree. */
    static double maxAbsDiff(NdArray got, NdArray want, String what) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] g = got.toFloatArray(), w = want.toFloatArray();
        double d = 0;
        for (int i = 0; i < g.length; ++i) {
            double e = Math.abs((double) g[i] - w[i]);
            if (!(e <= d)) d = e;  // NaN propagates
        }
        return d;
    }

    static double maxAbs(NdArray a) {
        double m = 0;
        for (float v : a.toFloatArray()) m = Math.max(m, Math.abs(v));
        return m;
    }

    /**
     * got equals want within {@code rel} times want's largest magnitude (elementwise; NaN fails); returns the
     * largest difference relative to that magnitude.
     */
    static double assertClose(NdArray got, NdArray want, double rel, String what) {
        double scale = Math.max(maxAbs(want), 1e-6), d = maxAbsDiff(got, want, what);
        org.junit.jupiter.api.Assertions.assertTrue(d <= rel * scale,
                what + ": max |difference| " + d + " > " + rel + " x max |expected| " + scale);
        return d / scale;
    }

    /** Whether two arrays hold the same dtype, shape and bytes. */
    static boolean sameBytes(NdArray a, NdArray b) {
        return a.dtype() == b.dtype() && java.util.Arrays.equals(a.shape(), b.shape()) && a.buffer().equals(b.buffer());
    }
}
