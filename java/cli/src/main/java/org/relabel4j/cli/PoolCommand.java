package org.relabel4j.cli;

import org.relabel4j.torch.Devices;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.ops.LabelPooling;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel pool}: LabelPooling of .npy top-k maps over .npy crop boxes, written as .npy. */
@Command(name = "pool", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"LabelPooling: RoIAlign the top-k label maps over the crop boxes (torchvision roi_align "
                + "semantics, without a dense map) and write the pooled logits or soft targets.",
                "Inputs are .npy files: scores [B,k,H,W] float32/float16, indices [B,k,H,W] int32/uint16, boxes "
                        + "[B,4] float32 (x1,y1,x2,y2 normalized to the image), flips [B] uint8/bool.",
                "Output: float32 [B,C] for --size 1, else [B,C,S,S]."})
final class PoolCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scores", required = true, paramLabel = "S.npy", description = "top-k scores [B,k,H,W]")
    Path scores;

    @Option(names = "--indices", required = true, paramLabel = "I.npy", description = "class ids [B,k,H,W]")
    Path indices;

    @Option(names = "--boxes", required = true, paramLabel = "B.npy", description = "crop boxes [B,4]")
    Path boxes;

    @Option(names = "--flips", paramLabel = "F.npy", description = "horizontal flips [B] (mirror the S x S output)")
    Path flips;

    @Option(names = "--classes", defaultValue = "1000", description = "number of classes C (default: ${DEFAULT-VALUE})")
    int classes;

    @Option(names = "--size", defaultValue = "1", description = "output size S (1: ReLabel; S x S: dense targets)")
    int size;

    @Option(names = "--softmax", description = "output softmax(pooled / T) targets (logits mode)")
    boolean softmax;

    @Option(names = "--temperature", defaultValue = "1", description = "softmax temperature T (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--mode", defaultValue = "logits", paramLabel = "logits|probs",
            description = "logits: pool logits, softmax after (reference); probs: per-cell softmax, pool, renormalize")
    String mode;

    @Option(names = "--box-order", defaultValue = "correct", paramLabel = "correct|official",
            description = "official: reproduce the released code (box read y/x-transposed)")
    String boxOrder;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "output file (written atomically)")
    Path out;

    @Option(names = "--show", defaultValue = "0", paramLabel = "N", description = "print the top-3 classes of the first N crops")
    int show;

    @Option(names = "--check", paramLabel = "REF.npy",
            description = "compare the output with a reference (e.g. torchvision's); exit 3 when outside the tolerance")
    Path check;

    @Option(names = "--tolerance", defaultValue = "1e-5",
            description = "--check: allowed |out - ref| <= tol * (|ref| + max|ref|) (default: ${DEFAULT-VALUE})")
    double tolerance;

    @Override
    public Integer call() throws IOException {
        FileArgs.of().in("--scores", scores).in("--indices", indices).in("--boxes", boxes).in("--flips", flips)
                .in("--check", check).out("--out", out).check();
        int dev = compute.device();
        LabelPooling pooling = LabelPooling.builder(classes).outputSize(size).softmax(softmax).temperature(temperature)
                .mode(parseMode(mode)).boxOrder(parseBoxOrder(boxOrder))
                .threads(compute.threads())
                .warnings(message -> spec.commandLine().getErr().println("warning: " + message))
                .build();
        NdArray s = Npy.read(scores), i = Npy.read(indices), b = Npy.read(boxes);
        NdArray f = flips == null ? null : Npy.read(flips);
        requireFinite(s, scores);
        Loader.load(RelabelNative.class);  // not part of the timing below
        long t0 = System.nanoTime();
        NdArray result;
        try {
            result = dev < 0 ? pooling.apply(s, i, b, f) : pooling.applyOnCuda(dev, s, i, b, f);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(inputs() + ": " + e.getMessage(), e);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        Npy.write(out, result);
        PrintWriter w = spec.commandLine().getOut();
        String what = pooling.mode() == LabelPooling.Mode.PROBS ? "probs mode: pooled distributions"
                : pooling.producesTargets() ? "logits mode: softmax targets" : "logits mode: pooled logits";
        w.printf(Locale.ROOT, "pooled %d crops of %s maps -> %s %s (%s, S=%d, %s) in %.2f ms%n", result.shape(0),
                shapeOf(s), out, result, what, size, Devices.name(dev), ms);
        for (int crop = 0; crop < Math.min(show, result.shape(0)); ++crop) w.println(topClasses(result, crop, 3));
        if (check != null) return compare(result, Npy.read(check), w);
        return 0;
    }

    /**
     * Scores must be finite: a NaN or Inf would come out as that crop's whole target (LabelPooling passes them
     * through; the library leaves this scan to its callers, as a batch from a store was checked when written).
     */
    static void requireFinite(NdArray s, Path file) {
        if (s.dtype() != org.relabel4j.nd.DType.FLOAT32 && s.dtype() != org.relabel4j.nd.DType.FLOAT16) return;
        long n = s.numel(), bad = 0, first = -1;
        for (long e = 0; e < n; ++e) {
            if (!Float.isFinite(s.getFloat(e)) && bad++ == 0) first = e;
        }
        if (bad == 0) return;
        long[] shape = s.shape(), at = new long[shape.length];
        for (int d = 0; d < shape.length; ++d) at[d] = (first / stride(shape, d)) % shape[d];
        throw new IllegalArgumentException(file + ": " + bad + " score(s) are not finite, the first at "
                + Arrays.toString(at) + " = " + s.getFloat(first) + " (scores [B,k,H,W] must be finite: fix the maps "
                + "that produced them)");
    }

    /** Elements per step of dimension d. */
    private static long stride(long[] shape, int d) {
        long f = 1;
        for (int i = d + 1; i < shape.length; ++i) f *= shape[i];
        return f;
    }

    private String inputs() {
        return scores.getFileName() + "/" + indices.getFileName() + "/" + boxes.getFileName();
    }

    static LabelPooling.Mode parseMode(String v) {
        switch (v.toLowerCase(Locale.ROOT)) {
            case "logits": return LabelPooling.Mode.LOGITS;
            case "probs": return LabelPooling.Mode.PROBS;
            default: throw new IllegalArgumentException("--mode must be logits or probs, got '" + v + "'");
        }
    }

    static LabelPooling.BoxOrder parseBoxOrder(String v) {
        switch (v.toLowerCase(Locale.ROOT)) {
            case "correct": return LabelPooling.BoxOrder.CORRECT;
            case "official": return LabelPooling.BoxOrder.OFFICIAL;
            default: throw new IllegalArgumentException("--box-order must be correct or official, got '" + v + "'");
        }
    }

    private static String shapeOf(NdArray a) {
        return a.dtype().label() + Arrays.toString(a.shape());
    }

    /** "crop 0: 417 0.412, 3 0.101, 9 0.050" (S = 1: the classes; S > 1: the classes of the mean over positions). */
    private static String topClasses(NdArray result, int crop, int n) {
        long c = result.shape(1), per = result.numel() / result.shape(0) / c;
        double[] score = new double[(int) c];
        for (long cls = 0; cls < c; ++cls) {
            double sum = 0;
            for (long p = 0; p < per; ++p) sum += result.getFloat((crop * c + cls) * per + p);
            score[(int) cls] = sum / per;
        }
        StringBuilder sb = new StringBuilder("crop " + crop + ":");
        boolean[] used = new boolean[score.length];
        for (int r = 0; r < Math.min(n, score.length); ++r) {
            int best = -1;
            for (int cls = 0; cls < score.length; ++cls) {
                if (!used[cls] && (best < 0 || score[cls] > score[best])) best = cls;
            }
            used[best] = true;
            sb.append(String.format(Locale.ROOT, "%s class %d %.4f", r == 0 ? "" : ",", best, score[best]));
        }
        return sb.toString();
    }

    private int compare(NdArray result, NdArray ref, PrintWriter w) {
        if (!Arrays.equals(result.shape(), ref.shape()))
            throw new IllegalArgumentException("--check " + check + ": shape " + Arrays.toString(ref.shape())
                    + " differs from the output shape " + Arrays.toString(result.shape()));
        double maxRef = 0;
        for (long k = 0; k < ref.numel(); ++k) maxRef = Math.max(maxRef, Math.abs(ref.getFloat(k)));
        double maxAbs = 0, worstExcess = Double.NEGATIVE_INFINITY;
        long bad = 0, worst = 0;
        for (long k = 0; k < ref.numel(); ++k) {
            double want = ref.getFloat(k), err = Math.abs(result.getFloat(k) - want);
            double allowed = tolerance * (Math.abs(want) + maxRef);
            maxAbs = Math.max(maxAbs, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
            if (!(err <= allowed)) {
                ++bad;
                if (Double.isNaN(err) || err - allowed > worstExcess) {
                    worstExcess = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err - allowed;
                    worst = k;
                }
            }
        }
        if (bad == 0) {
            w.printf(Locale.ROOT, "check: matches %s (max |diff| %.3g, max |ref| %.3g, tolerance %.1g)%n", check,
                    maxAbs, maxRef, tolerance);
            return 0;
        }
        w.printf(Locale.ROOT, "check: %d of %d values differ from %s beyond the tolerance %.1g; worst at flat index %d: "
                + "%.7g vs %.7g%n", bad, ref.numel(), check, tolerance, worst, result.getFloat(worst), ref.getFloat(worst));
        return RelabelCli.EXIT_CHECK_FAILED;
    }
}
