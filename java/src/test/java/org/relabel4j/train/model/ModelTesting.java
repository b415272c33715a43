package org.relabel4j.train.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
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
}
