package org.relabel4j.eval;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.EvalTransform;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.Classifier;

/**
 * Runs a {@link Classifier} over a dataset for evaluation: the {@link Loader} decodes and transforms the images in
 * dataset order ({@link EvalTransform}: shorter side to {@code resize}, center crop {@code size}, ImageNet
 * normalization; 256 / 224 by default) on worker threads, the model runs in eval mode without autograd
 * ({@link NoGradGuard}) on the chosen device, and each sample's top-k classes (k = 5, or the class count when it is
 * smaller) are kept with its key, file name and label in {@link Predictions}.
 *
 * <p>Top-k is taken on the host from float32 logits: classes by decreasing logit, ties to the lower class id, a NaN
 * above every number (as torch.topk orders it); samples whose logits are not all finite are counted
 * ({@link Predictions#nonFinite}). Unreadable images are skipped and listed ({@link Predictions#skipped}), or fail
 * the run with {@link Builder#strict}.
 */
public final class Evaluator {
    private final int size, resize, batchSize, workers, topK;
    private final String device;
    private final boolean strict;
    private final IntConsumer progress;
    private final Consumer<String> log;

    private Evaluator(Builder b) {
        this.size = b.size;
        this.resize = b.resize > 0 ? b.resize : (int) Math.floor(b.size / b.cropPct);
        if (resize < size)
            throw new IllegalArgumentException("resize " + resize + " is smaller than the crop size " + size);
        this.batchSize = b.batchSize;
        this.workers = b.workers;
        this.topK = b.topK;
        this.device = b.device;
        this.strict = b.strict;
        this.progress = b.progress;
        this.log = b.log;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Crop size. */
    public int size() {
        return size;
    }

    /** Shorter side before the center crop. */
    public int resize() {
        return resize;
    }

    public int batchSize() {
        return batchSize;
    }

    public int workers() {
        return workers;
    }

    /** The device name: "cpu" or "cuda:N". */
    public String device() {
        return device;
    }

    /** Whether an unreadable image fails the run (else the loader skips it). */
    public boolean strict() {
        return strict;
    }

    /** Where warnings go. */
    public Consumer<String> log() {
        return log;
    }

    /** One evaluation run: the predictions and how long the pass over the data took. */
    public record Run(Predictions predictions, String model, int modelClasses, String device, double seconds) {
        /** Evaluated images per second. */
        public double imagesPerSecond() {
            return seconds > 0 ? predictions.evaluatedCount() / seconds : Double.NaN;
        }
    }

    /**
     * Evaluates {@code model} on {@code dataset} (the model is moved to the device and put in eval mode). The
     * dataset's class count must not exceed the model's.
     */
    public Run run(Classifier model, Dataset dataset) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(dataset, "dataset");
        Torch.init();
        int classes = model.classes();
        if (dataset.classes().size() > classes)
            throw new IllegalArgumentException("the dataset has " + dataset.classes().size() + " classes but the model "
                    + model.name() + " only " + classes);
        int k = Math.min(topK, classes);
        Predictions.Builder pb = Predictions.builder(dataset, k);
        int n = dataset.size();
        Device dev = torchDevice(device);
        model.to(dev);
        model.train(false);
        EvalTransform transform = new EvalTransform(size, resize, Normalization.IMAGENET);
        long t0 = System.nanoTime();
        int done = 0;
        float[] row = new float[classes];
        int[] best = new int[k];
        try (NoGradGuard noGrad = new NoGradGuard();
             Loader loader = Loader.builder(dataset, transform).batchSize(batchSize).workers(workers).shuffle(false)
                     .strict(strict).log(log).build();
             Loader.Epoch epoch = loader.epoch(0)) {
            while (epoch.hasNext()) {
                try (Batch batch = epoch.next(); PointerScope scope = new PointerScope()) {
                    int from = batch.index() * batchSize, to = Math.min(n, from + batchSize);
                    int[] index = new int[batch.size()];
                    int j = from;
                    for (int r = 0; r < batch.size(); ++r) {
                        String key = batch.keys().get(r);
                        while (j < to && !pb.key(j).equals(key)) pb.skip(j++, "unreadable image (skipped by the loader)");
                        if (j == to)
                            throw new IllegalStateException("batch " + batch.index() + " holds sample '" + key
                                    + "' outside its range of the dataset");
                        index[r] = j++;
                    }
                    while (j < to) pb.skip(j++, "unreadable image (skipped by the loader)");
                    if (batch.size() > 0) {
                        Tensor images = BatchTensors.images(batch, dev);
                        Tensor logits = model.forward(images);
                        long[] shape = Tensors.shape(logits);
                        if (shape.length != 2 || shape[0] != batch.size() || shape[1] != classes)
                            throw new IllegalStateException("model " + model.name() + " returned logits of shape "
                                    + java.util.Arrays.toString(shape) + " for " + batch.size() + " images of "
                                    + classes + " classes");
                        NdArray host = Tensors.toNdArray(logits.to(ScalarType.Float));
                        java.nio.FloatBuffer values = host.buffer().asFloatBuffer();
                        for (int r = 0; r < batch.size(); ++r) {
                            values.get(r * classes, row, 0, classes);
                            if (topK(row, best)) pb.countNonFinite();
                            pb.set(index[r], best);
                        }
                    }
                    done = to;
                    if (progress != null) progress.accept(done);
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Run(pb.build(), model.name(), classes, device, seconds);
    }

    /**
     * Writes the best {@code best.length} classes of {@code logits} into {@code best}, best first: larger logit
     * first, equal logits by lower class id, NaN above every number. Returns true when a logit is NaN or infinite.
     */
    public static boolean topK(float[] logits, int[] best) {
        int k = best.length, filled = 0;
        boolean nonFinite = false;
        for (int c = 0; c < logits.length; ++c) {
            float v = logits[c];
            if (!Float.isFinite(v)) nonFinite = true;
            if (filled == k && !above(v, logits[best[k - 1]])) continue;
            int pos = filled < k ? filled++ : k - 1;
            // insertion: ties keep the earlier (lower) class id in front
            while (pos > 0 && above(v, logits[best[pos - 1]])) {
                best[pos] = best[pos - 1];
                --pos;
            }
            best[pos] = c;
        }
        return nonFinite;
    }

    /** Strictly better: a NaN beats every number, otherwise the larger value. */
    private static boolean above(float a, float b) {
        if (Float.isNaN(a)) return !Float.isNaN(b);
        if (Float.isNaN(b)) return false;
        return a > b;
    }

    /** "cpu", "cuda" or "cuda:N" as a LibTorch device; CUDA must be available. */
    static Device torchDevice(String name) {
        Torch.init();
        if (name.equals("cpu")) return new Device("cpu");
        if (!Torch.cudaAvailable())
            throw new IllegalArgumentException("device " + name + ": CUDA is not available to LibTorch (the CPU build of "
                    + "the pytorch natives, or no GPU/driver); use --device cpu, or build with -Pgpu on a GPU machine");
        return new Device(name);
    }

    /** Evaluation options. */
    public static final class Builder {
        private int size = 224, resize = 0, batchSize = 100, topK = 5;
        private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        private double cropPct = 0.875;
        private String device = "cpu";
        private boolean strict;
        private IntConsumer progress;
        private Consumer<String> log = m -> System.getLogger("org.relabel4j.eval").log(System.Logger.Level.WARNING, m);

        private Builder() {}

        /** Center-crop size (default 224). */
        public Builder size(int s) {
            if (s < 1) throw new IllegalArgumentException("size must be >= 1, got " + s);
            this.size = s;
            return this;
        }

        /** Shorter side before cropping (default: floor(size / cropPct), 256 for 224). */
        public Builder resize(int r) {
            if (r < 1) throw new IllegalArgumentException("resize must be >= 1, got " + r);
            this.resize = r;
            return this;
        }

        /** Crop fraction: resize = floor(size / cropPct) (default 0.875); ignored when resize is given. */
        public Builder cropPct(double p) {
            if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("crop pct must be in (0, 1], got " + p);
            this.cropPct = p;
            return this;
        }

        public Builder batchSize(int n) {
            if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
            this.batchSize = n;
            return this;
        }

        /** Loader threads (default: all processors). */
        public Builder workers(int n) {
            if (n < 1) throw new IllegalArgumentException("workers must be >= 1, got " + n);
            this.workers = n;
            return this;
        }

        /** Classes kept per sample (default 5). */
        public Builder topK(int k) {
            if (k < 1) throw new IllegalArgumentException("top-k must be >= 1, got " + k);
            this.topK = k;
            return this;
        }

        /** "cpu" (default), "cuda" or "cuda:N". */
        public Builder device(String d) {
            this.device = org.relabel4j.torch.Devices.name(org.relabel4j.torch.Devices.parse(d));
            return this;
        }

        /** Fail on the first unreadable image instead of skipping it. */
        public Builder strict(boolean on) {
            this.strict = on;
            return this;
        }

        /** Called after each batch with the number of dataset samples done. */
        public Builder progress(IntConsumer p) {
            this.progress = p;
            return this;
        }

        /** Where skipped images are reported (default: the "org.relabel4j.eval" System.Logger). */
        public Builder log(Consumer<String> sink) {
            this.log = Objects.requireNonNull(sink, "log");
            return this;
        }

        public Evaluator build() {
            return new Evaluator(this);
        }
    }
}
