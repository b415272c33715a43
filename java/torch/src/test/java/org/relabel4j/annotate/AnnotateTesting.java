package org.relabel4j.annotate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.SampleRandom;
import org.relabel4j.data.transform.WholeImageTransform;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Tensors;
import org.relabel4j.model.Classifier;

/** Generated images for the annotation tests, and the reference: a direct dense forward + torch.topk in LibTorch. */
public final class AnnotateTesting {
    public static final String[] CLASSES = {"cat", "dog", "fox"};
    private static final int[] COLORS = {0xD04020, 0x20A040, 0x3050D0, 0xE0E0E0, 0x202020};

    private AnnotateTesting() {}

    /**
     * Writes {@code n} JPEGs of varied sizes (24..89 x 20..69) into {@code root/<class>/img<i>.jpg}: a background and
     * a rectangle of other colors at varying places, so that the maps differ across locations.
     */
    public static void writeImages(Path root, int n) throws IOException {
        for (int i = 0; i < n; ++i) {
            int w = 24 + (i * 37) % 66, h = 20 + (i * 23) % 50;
            int bg = COLORS[i % COLORS.length], fg = COLORS[(i * 3 + 1) % COLORS.length];
            int x0 = (i * 13) % Math.max(1, w / 2), y0 = (i * 7) % Math.max(1, h / 2);
            int x1 = x0 + w / 3 + 2, y1 = y0 + h / 3 + 2;
            final int seed = i;
            byte[] jpeg = TestImages.jpeg(w, h, (x, y) -> {
                int c = x >= x0 && x < x1 && y >= y0 && y < y1 ? fg : bg;
                int noise = ((x * 31 + y * 17 + seed * 5) % 23) - 11;
                int r = clamp(((c >> 16) & 255) + noise), g = clamp(((c >> 8) & 255) - noise), b = clamp((c & 255) + x);
                return (r << 16) | (g << 8) | b;
            });
            Path f = root.resolve(CLASSES[i % CLASSES.length] + "/img" + String.format("%03d", i) + ".jpg");
            Files.createDirectories(f.getParent());
            Files.write(f, jpeg);
        }
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** A test resource copied to a file. */
    public static Path resource(Path dir, String name) throws IOException {
        Path f = dir.resolve(Path.of(name).getFileName().toString());
        try (InputStream in = AnnotateTesting.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            Files.copy(in, f);
        }
        return f;
    }

    /** The reference top-(k+1) (or top-C) of one image: values [k', h, w] and class ids, from LibTorch. */
    public record Reference(int kk, int h, int w, float[] values, long[] ids) {
        float value(int j, int y, int x) {
            return values[(j * h + y) * w + x];
        }

        long id(int j, int y, int x) {
            return ids[(j * h + y) * w + x];
        }
    }

    /**
     * The same input the annotator builds (the whole image resized to size x size, ImageNet normalization, here in
     * float on the host), {@code model.forwardDense}, averaged with the mirrored map of the mirrored image when
     * {@code flip}, then {@code torch.topk(dense, kk, dim=1)}; the model in eval mode.
     */
    public static Reference reference(Classifier model, byte[] encoded, int size, boolean flip, int kk) throws IOException {
        model.train(false);
        float[] pixels = new float[3 * size * size];
        new WholeImageTransform(size, Normalization.IMAGENET).apply(encoded, "test", SampleRandom.of(0, 0, 0), pixels, 0);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor x = Tensors.fromNdArray(NdArray.of(pixels, 1, 3, size, size));
            Tensor dense = model.forwardDense(x);
            if (flip) dense = dense.add(model.forwardDense(x.flip(3)).flip(3)).div(new org.bytedeco.pytorch.Scalar(2.0));
            long[] s = Tensors.shape(dense);
            int k = (int) Math.min(kk, s[1]);
            T_TensorTensor_T top = dense.topk(k, 1, true, true);
            NdArray v = Tensors.toNdArray(top.get0()), i = Tensors.toNdArray(top.get1());
            return new Reference(k, (int) s[2], (int) s[3], v.toFloatArray(), i.toLongArray());
        }
    }

    /**
     * The stored map equals the reference: per cell the same class ids in the same order (except where the
     * reference's neighbouring values tie within 1e-4, where the order is the op's choice) and each score the
     * reference's value rounded to fp16 (within one fp16 step: the annotator normalizes on the device, which rounds
     * differently in the last float bit). Returns the number of entries compared by id.
     */
    public static int assertMatches(String key, LabelMap stored, Reference ref, boolean fp16) {
        var f = stored.format();
        assertEquals(ref.h(), f.height(), key + ": map height");
        assertEquals(ref.w(), f.width(), key + ": map width");
        int checked = 0;
        for (int y = 0; y < f.height(); ++y) {
            for (int x = 0; x < f.width(); ++x) {
                for (int j = 0; j < f.k(); ++j) {
                    float want = ref.value(j, y, x), got = stored.score(j, y, x);
                    float rounded = fp16 ? Half.toFloat(Half.fromFloat(want)) : want;
                    double tol = fp16 ? Math.abs(want) * 0x1p-10 + 1e-6 : Math.abs(want) * 1e-5 + 1e-6;
                    assertTrue(Math.abs(got - rounded) <= tol, key + ": score k=" + j + " at (" + y + ", " + x + ") is "
                            + got + ", LibTorch gives " + want + " (fp16 " + rounded + ")");
                    boolean tieAbove = j > 0 && Math.abs(ref.value(j - 1, y, x) - want) < 1e-4;
                    boolean tieBelow = j + 1 < ref.kk() && Math.abs(ref.value(j + 1, y, x) - want) < 1e-4;
                    if (!tieAbove && !tieBelow) {
                        assertEquals(ref.id(j, y, x), stored.id(j, y, x), key + ": class id k=" + j + " at (" + y
                                + ", " + x + ")");
                        ++checked;
                    }
                }
            }
        }
        return checked;
    }

    /** Every sample of {@code dataset} has a record equal to the reference; returns the entries compared by id. */
    public static int assertStoreMatches(LabelMapStore store, Dataset dataset, Classifier model, int size, boolean flip)
            throws IOException {
        assertEquals(dataset.size(), store.size(), "records");
        int k = store.format().k(), checked = 0;
        boolean fp16 = store.format().scoreType() == org.relabel4j.nd.DType.FLOAT16;
        for (int i = 0; i < dataset.size(); ++i) {
            String key = dataset.sample(i).key();
            LabelMap m = store.map(store.require(key));
            checked += assertMatches(key, m, reference(model, dataset.read(i), size, flip, k + 1), fp16);
        }
        return checked;
    }

    /** The keys of a store in record order. */
    public static List<String> keys(LabelMapStore store) {
        List<String> out = new ArrayList<>();
        for (long r = 0; r < store.size(); ++r) out.add(store.key(r));
        return out;
    }

    /**
     * Two stores hold the same keys in the same order and equal maps: scores within one fp16 step, class ids equal
     * except between entries of a cell whose scores tie within that step.
     */
    public static void assertSameMaps(LabelMapStore want, LabelMapStore got) {
        assertEquals(want.format(), got.format(), "format");
        assertEquals(keys(want), keys(got), "keys in record order");
        var f = want.format();
        for (long r = 0; r < want.size(); ++r) {
            LabelMap a = want.map(r), b = got.map(r);
            for (int y = 0; y < f.height(); ++y) {
                for (int x = 0; x < f.width(); ++x) {
                    for (int j = 0; j < f.k(); ++j) {
                        float sa = a.score(j, y, x), sb = b.score(j, y, x);
                        double step = Math.abs(sa) * 0x1p-10 + 1e-6;
                        assertTrue(Math.abs(sa - sb) <= step, want.key(r) + ": score k=" + j + " at (" + y + ", " + x
                                + "): " + sa + " vs " + sb);
                        if (a.id(j, y, x) == b.id(j, y, x)) continue;
                        boolean tie = (j > 0 && Math.abs(a.score(j - 1, y, x) - sa) <= 2 * step)
                                || (j + 1 < f.k() && Math.abs(a.score(j + 1, y, x) - sa) <= 2 * step);
                        assertTrue(tie, want.key(r) + ": class id k=" + j + " at (" + y + ", " + x + "): "
                                + a.id(j, y, x) + " vs " + b.id(j, y, x) + " without a tie");
                    }
                }
            }
        }
    }

}
