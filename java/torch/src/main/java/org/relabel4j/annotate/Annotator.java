package org.relabel4j.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.SubsetDataset;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.WholeImageTransform;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.TopK;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.store.Shard;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.Classifier;

/**
 * Writes a dataset's label maps with a teacher: ReLabel's label-map generation, which the released code never
 * published. Each image is resized whole to S x S (no crop, as the released maps), normalized, and run through the
 * teacher fully convolutionally ({@link Classifier#forwardDense}: the features before global pooling, the classifier
 * as a 1x1 convolution), optionally averaged with the mirrored dense map of the mirrored image; the fused top-k op
 * ({@link TopK}) compresses the dense logits on the teacher's device, so only k entries per location leave it, and
 * the records stream into a label-map store ({@link LabelMapStoreWriter}) keyed by the dataset's sample keys (the
 * keys the training {@link Loader} looks up).
 *
 * <p><b>Pipeline.</b> Loader threads decode and resize ahead of the teacher ({@code workers} threads, at most
 * {@code 2 x workers} batches of uint8 pixels in flight: memory is bounded); normalization runs on the device. The
 * writer keeps O(1) records in memory plus the keys.
 *
 * <p><b>Shards and restarts.</b> {@code shard(i/N)} annotates the i-th contiguous slice of the dataset (in dataset
 * order), for job arrays; join the parts with {@code relabel store merge}. The store is written to
 * {@code <out>.partial} and renamed to {@code <out>} when complete; after every batch its records are handed to the
 * file system, so a killed run loses at most the batch in flight. Run again with the same settings, it reopens the
 * partial store ({@link LabelMapStoreWriter#resume}: records whose checksums verify are kept), skips the keys
 * already written and annotates the rest: no record is lost or written twice. Settings that differ from the
 * unfinished store's (teacher, size, k, flip, shard, sample count, score type) are an error.
 *
 * <p>Unreadable images are skipped, listed in the {@link Summary} and reported through the log (or fail the run
 * with {@code strict}). Not thread-safe (one run at a time: the teacher is not).
 */
public final class Annotator {
    /** Progress of a run: samples of this run done (annotated or skipped) of {@code total}. */
    @FunctionalInterface
    public interface Listener {
        void update(long done, long total);
    }

    private final Classifier teacher;
    private final String teacherName;
    private final int size, k, batchSize, workers;
    private final boolean flip, strict, resume, sigmoid;
    private final String device;
    private final Shard shard;
    private final DType scoreType;
    private final Normalization normalization;
    private final Map<String, Object> metadata;
    private final Listener listener;
    private final Consumer<String> log;

    private Annotator(Builder b) {
        this.teacher = b.teacher;
        this.teacherName = b.teacherName != null ? b.teacherName : b.teacher.name();
        this.size = b.size;
        this.k = b.k;
        this.batchSize = b.batchSize;
        this.workers = b.workers;
        this.flip = b.flip;
        this.sigmoid = b.sigmoid;
        this.strict = b.strict;
        this.resume = b.resume;
        this.device = b.device;
        this.shard = b.shard;
        this.scoreType = b.scoreType;
        this.normalization = b.normalization;
        this.metadata = new LinkedHashMap<>(b.metadata);
        this.listener = b.listener;
        this.log = b.log;
    }

    /** An annotator driving {@code teacher} (moved to the device and put in eval mode by {@link #run}). */
    public static Builder builder(Classifier teacher) {
        return new Builder(teacher);
    }

    public int size() {
        return size;
    }

    public int k() {
        return k;
    }

    public boolean flip() {
        return flip;
    }

    public String device() {
        return device;
    }

    /** An image skipped as unreadable: its key and where it comes from. */
    public record Skipped(String key, String origin) {}

    /**
     * What a run did. {@code written}: records added by this run; {@code resumed}: records kept from an interrupted
     * run; {@code samples}: the samples of this shard. Times in seconds: the whole run (from opening the store to the
     * finished file), the teacher's forward (with flip averaging; on CUDA up to a device synchronization), moving and
     * normalizing the pixels on the device, the top-k op, copying its k entries per location to the host and writing
     * the records ({@link MapRecordWriter}), and the time spent waiting for the loader (decoding not hidden behind
     * the teacher).
     */
    public record Summary(Path store, MapFormat format, Shard shard, long samples, long written, long resumed,
            List<Skipped> skipped, double seconds, double forwardSeconds, double inputSeconds, double topkSeconds,
            double storeSeconds, double waitSeconds) {
        /** Records annotated per second of the run. */
        public double imagesPerSecond() {
            return seconds > 0 ? written / seconds : Double.NaN;
        }

        /** Top-k plus store writing, relative to the teacher's forward (the goal: <= 1%). */
        public double topkStoreShare() {
            return forwardSeconds > 0 ? (topkSeconds + storeSeconds) / forwardSeconds : Double.NaN;
        }
    }

    /** The map size h x w and class count C the teacher gives for an S x S input (one forward on a zero image). */
    public record Geometry(int classes, int height, int width) {}

    /** Runs the teacher once on a zero image of this annotator's size, on its device. */
    public Geometry probe() {
        Torch.init();
        Device dev = Devices.torchDevice(device);
        teacher.to(dev);
        teacher.train(false);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor x = torch.zeros(new long[] {1, 3, size, size},
                    new TensorOptions(dev).dtype(new ScalarTypeOptional(ScalarType.Float)));
            long[] s;
            try {
                s = Tensors.shape(teacher.forwardDense(x));
            } catch (UnsupportedOperationException e) {
                throw new IllegalArgumentException("teacher " + teacherName + " cannot give dense logits: "
                        + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("teacher " + teacherName + ": the dense forward of a [1,3," + size
                        + "," + size + "] image failed: " + firstLine(e), e);
            }
            if (s.length != 4 || s[0] != 1 || s[1] < 1 || s[2] < 1 || s[3] < 1)
                throw new IllegalArgumentException("teacher " + teacherName + " returned dense logits of shape "
                        + Arrays.toString(s) + " for a [1,3," + size + "," + size + "] image; expected [1,C,h,w]");
            if (s[1] > Integer.MAX_VALUE || s[2] > MapFormat.MAX_SIDE || s[3] > MapFormat.MAX_SIDE)
                throw new IllegalArgumentException("teacher " + teacherName + ": dense logits " + Arrays.toString(s)
                        + " are too large");
            return new Geometry((int) s[1], (int) s[2], (int) s[3]);
        }
    }

    /** The store's format for this teacher: C, k and h x w from {@link #probe}, the score type, the id type by C. */
    public MapFormat format(Geometry g) {
        if (k > g.classes())
            throw new IllegalArgumentException("k = " + k + " exceeds the teacher's " + g.classes() + " classes");
        return new MapFormat(g.classes(), k, g.height(), g.width(), scoreType, MapFormat.indexTypeFor(g.classes()));
    }

    /** The settings the store's metadata records under "annotation" (compared on resume). */
    Map<String, Object> settings(Dataset dataset, int samples) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("teacher", teacherName);
        a.put("input", "whole image resized to " + size + "x" + size + " (no crop), normalized");
        a.put("size", size);
        a.put("k", k);
        a.put("flip_average", flip);
        if (sigmoid) a.put("scores", "per-cell sigmoid probabilities");
        Map<String, Object> norm = new LinkedHashMap<>();
        norm.put("mean", toList(normalization.mean()));
        norm.put("std", toList(normalization.std()));
        a.put("normalization", norm);
        a.put("score_dtype", scoreType.label());
        a.put("shard", shard == null ? "0/1" : shard.toString());
        a.put("samples", samples);
        a.put("dataset", dataset.description());
        return a;
    }

    /** Keys of "annotation" that must agree for a run to continue an unfinished store. */
    private static final List<String> RESUME_KEYS =
            List.of("teacher", "size", "k", "flip_average", "normalization", "score_dtype", "shard", "samples", "scores");

    /**
     * Annotates {@code dataset} (this annotator's shard of it) into the store {@code out} (written whole; pass
     * {@link Shard#partFile} for a shard's part). An unfinished {@code <out>.partial} is continued (or, with
     * {@code resume(false)}, discarded).
     *
     * @throws IllegalArgumentException bad settings for this teacher, or settings that differ from the unfinished
     *     store's, or an unreadable image with {@code strict}
     * @throws IOException the store cannot be written
     */
    public Summary run(Dataset dataset, Path out) throws IOException {
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(out, "out");
        Torch.init();
        long start = System.nanoTime();
        Device dev = Devices.torchDevice(device);
        Geometry geometry = probe();
        MapFormat format = format(geometry);
        if (dataset.classes().size() > geometry.classes())
            log.accept("note: the dataset has " + dataset.classes().size() + " classes but the teacher "
                    + teacherName + " only " + geometry.classes() + ": training on these maps needs the teacher's classes");

        int n = dataset.size();
        int from = shard == null ? 0 : (int) ((long) n * shard.index() / shard.count());
        int to = shard == null ? n : (int) ((long) n * (shard.index() + 1) / shard.count());
        Map<String, Object> annotation = settings(dataset, to - from);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("annotation", annotation);
        if (dataset.classes().size() == geometry.classes()) meta.put("class_names", dataset.classes());
        meta.putAll(metadata);

        if (!resume) LabelMapStoreWriter.discard(out);
        String before = LabelMapStoreWriter.unfinishedMetadata(out);
        boolean continuing = before != null;
        if (continuing) checkSameSettings(out, before, annotation);  // before the format check: names the setting
        // resume() starts a new store when there is nothing to continue (or only a partial file without journal).
        LabelMapStoreWriter writer = LabelMapStoreWriter.resume(out, format, meta);
        boolean finished = false;
        try {
            long resumed = writer.count();
            Set<String> have = new HashSet<>((int) Math.min(Integer.MAX_VALUE, resumed * 2 + 16));
            writer.forEachKey(have::add);
            int[] pending = new int[to - from];
            int m = 0, found = 0;
            for (int i = from; i < to; ++i) {
                if (have.contains(dataset.sample(i).key())) ++found;
                else pending[m++] = i;
            }
            if (found != resumed)
                throw new IllegalArgumentException("the unfinished store " + out + ".partial holds " + (resumed - found)
                        + " key(s) that are not samples of " + (shard == null ? "the dataset" : "shard " + shard
                        + " of the dataset") + " (e.g. '" + firstMissing(writer, dataset, from, to) + "'); annotate "
                        + "the same dataset or start over");
            if (continuing) log.accept("resuming " + out + ": " + resumed + " record(s) kept, " + m + " to annotate");
            Timings t = new Timings();
            List<Skipped> skipped = new ArrayList<>();
            if (m > 0) annotate(new SubsetDataset(dataset, Arrays.copyOf(pending, m), "not yet annotated"), dev,
                    format, writer, t, skipped);
            writer.finish();
            finished = true;
            return new Summary(out, format, shard, to - from, writer.count() - resumed, resumed, List.copyOf(skipped),
                    (System.nanoTime() - start) / 1e9, t.forward / 1e9, t.input / 1e9, t.topk / 1e9, t.store / 1e9,
                    t.wait / 1e9);
        } finally {
            if (!finished) writer.close();  // keeps <out>.partial for the next run to continue
        }
    }

    private static String firstMissing(LabelMapStoreWriter w, Dataset dataset, int from, int to) throws IOException {
        Set<String> keys = new HashSet<>();
        for (int i = from; i < to; ++i) keys.add(dataset.sample(i).key());
        String[] first = {null};
        w.forEachKey(k -> {
            if (first[0] == null && !keys.contains(k)) first[0] = k;
        });
        return first[0] != null ? first[0] : "?";
    }

    private static void checkSameSettings(Path out, String journalJson, Map<String, Object> now) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode before = json.readTree(journalJson).path("annotation");
        JsonNode current = json.valueToTree(now);
        if (before.isMissingNode())
            throw new IllegalArgumentException(out + ".partial is an unfinished store not written by annotate; "
                    + "delete it or annotate to another --out");
        for (String key : RESUME_KEYS) {
            if (!before.path(key).equals(current.path(key)))
                throw new IllegalArgumentException(out + ".partial was started with " + key + " = "
                        + before.path(key) + ", this run has " + key + " = " + current.path(key)
                        + ": run with the same settings to continue it, or start over (resume(false); "
                        + "annotate --restart)");
        }
    }

    private static final class Timings {
        long forward, input, topk, store, wait;
    }

    private void annotate(Dataset todo, Device dev, MapFormat format, LabelMapStoreWriter writer, Timings t,
            List<Skipped> skipped) throws IOException {
        int total = todo.size();
        if (listener != null) listener.update(0, total);
        TopK topk = TopK.of(k, scoreType, format.indexType(), Math.max(1, Math.min(4, Torch.threads())));
        MapRecordWriter records = new MapRecordWriter(writer);
        long[] expect = {0, format.classes(), format.height(), format.width()};
        boolean cuda = dev.is_cuda();
        try (NoGradGuard noGrad = new NoGradGuard();
             Loader loader = Loader.builder(todo, new WholeImageTransform(size, null)).batchSize(batchSize)
                     .workers(workers).shuffle(false).strict(strict).pixels(Loader.Pixels.UINT8).log(log).build();
             Loader.Epoch epoch = loader.epoch(0);
             PointerScope constants = new PointerScope()) {
            Tensor mean = channels(normalization.mean(), dev), std = channels(normalization.std(), dev);
            org.bytedeco.pytorch.Scalar half = new org.bytedeco.pytorch.Scalar(0.5);
            long w0 = System.nanoTime();
            while (epoch.hasNext()) {
                try (Batch batch = epoch.next(); PointerScope scope = new PointerScope()) {
                    long t0 = System.nanoTime();
                    t.wait += t0 - w0;
                    int first = batch.index() * batchSize, last = Math.min(total, first + batchSize);
                    collectSkipped(todo, batch, first, last, skipped);
                    int b = batch.size();
                    if (b > 0) {
                        Tensor x = BatchTensors.images(batch, dev).to(ScalarType.Float).sub_(mean).div_(std);
                        long t1 = System.nanoTime();
                        Tensor dense = teacher.forwardDense(x);
                        if (flip) dense = dense.add(teacher.forwardDense(x.flip(3)).flip(3)).mul(half);
                        if (sigmoid) dense = dense.sigmoid();  // monotone: the same top-k classes
                        expect[0] = b;
                        if (!Arrays.equals(Tensors.shape(dense), expect))
                            throw new IllegalArgumentException("teacher " + teacherName + " returned dense logits "
                                    + Arrays.toString(Tensors.shape(dense)) + " for " + b + " images, expected "
                                    + Arrays.toString(expect) + " (as for the probe; a module traced at a fixed batch "
                                    + "size needs --batch of that size and a dataset that fills every batch)");
                        if (cuda) org.bytedeco.pytorch.global.torch_cuda.device_synchronize();
                        long t2 = System.nanoTime();
                        TensorOps.TopKTensors r = TensorOps.topk(topk, dense);
                        try {
                            r.checkFinite();  // on CUDA: waits for the kernel
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException("teacher " + teacherName + " on images "
                                    + batch.keys().get(0) + " .. " + batch.keys().get(b - 1) + ": " + e.getMessage(), e);
                        }
                        long t3 = System.nanoTime();
                        records.write(batch.keys(), r);  // k entries per location to the host, then to the store
                        long t4 = System.nanoTime();
                        t.input += t1 - t0;
                        t.forward += t2 - t1;
                        t.topk += t3 - t2;
                        t.store += t4 - t3;
                    }
                    if (listener != null) listener.update(last, total);
                }
                w0 = System.nanoTime();
            }
        }
    }

    /** Samples of [first, last) of the to-do list that the loader skipped as unreadable. */
    private static void collectSkipped(Dataset todo, Batch batch, int first, int last, List<Skipped> skipped) {
        if (batch.size() == last - first) return;
        Set<String> present = new HashSet<>(batch.keys());
        for (int i = first; i < last; ++i) {
            var s = todo.sample(i);
            if (!present.contains(s.key())) skipped.add(new Skipped(s.key(), s.origin()));
        }
    }

    /** mean or std x 255 as a float32 [1,3,1,1] tensor on dev (the pixels arrive as 0..255). */
    private static Tensor channels(float[] v, Device dev) {
        Tensor t = Tensors.fromNdArray(NdArray.of(new float[] {v[0] * 255f, v[1] * 255f, v[2] * 255f}, 1, 3, 1, 1));
        return dev.is_cuda() ? t.to(dev, ScalarType.Float) : t;
    }

    private static List<Double> toList(float[] v) {
        List<Double> out = new ArrayList<>();
        for (float f : v) out.add((double) f);
        return out;
    }

    private static String firstLine(RuntimeException e) {
        return String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
    }

    /** Annotation options. */
    public static final class Builder {
        private final Classifier teacher;
        private String teacherName;
        private int size = 224, k = 5, batchSize = 32;
        private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        private boolean flip, strict, resume = true, sigmoid;
        private String device = "cpu";
        private Shard shard;
        private DType scoreType = DType.FLOAT16;
        private Normalization normalization = Normalization.IMAGENET;
        private final Map<String, Object> metadata = new LinkedHashMap<>();
        private Listener listener;
        private Consumer<String> log = m -> System.getLogger("org.relabel4j.annotate").log(System.Logger.Level.WARNING, m);

        private Builder(Classifier teacher) {
            this.teacher = Objects.requireNonNull(teacher, "teacher");
        }

        /**
         * How the store's metadata names the teacher (default: its {@link Classifier#name()}), e.g. "resnet50 from
         * resnet50.pth". A restarted run must give the same name.
         */
        public Builder teacherName(String name) {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("teacher name must not be empty");
            this.teacherName = name;
            return this;
        }

        /** Input side S: the whole image is resized to S x S (default 224; the released maps used 475). */
        public Builder size(int s) {
            if (s < 1 || s > 8192) throw new IllegalArgumentException("size must be in [1, 8192], got " + s);
            this.size = s;
            return this;
        }

        /** Entries kept per location (default 5, as the released maps). */
        public Builder k(int k) {
            if (k < 1 || k > MapFormat.MAX_K)
                throw new IllegalArgumentException("k must be in [1, " + MapFormat.MAX_K + "], got " + k);
            this.k = k;
            return this;
        }

        /**
         * Store per-cell sigmoid probabilities instead of logits (a multi-label teacher's maps for {@code
         * data.relabel.multilabel_target: value}: pooled per-cell probabilities; docs/multilabel.md).
         */
        public Builder sigmoid(boolean on) {
            this.sigmoid = on;
            return this;
        }

        /** Average the dense map with the mirrored dense map of the mirrored image (two forwards per image). */
        public Builder flip(boolean on) {
            this.flip = on;
            return this;
        }

        public Builder batchSize(int n) {
            if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
            this.batchSize = n;
            return this;
        }

        /** Decoding threads (default: all processors). */
        public Builder workers(int n) {
            if (n < 1) throw new IllegalArgumentException("workers must be >= 1, got " + n);
            this.workers = n;
            return this;
        }

        /** "cpu" (default), "cuda" or "cuda:N": where the teacher and the top-k op run. */
        public Builder device(String d) {
            this.device = Devices.name(Devices.parse(d));
            return this;
        }

        /** Annotate only slice i of N of the dataset (null: all). */
        public Builder shard(Shard s) {
            this.shard = s;
            return this;
        }

        /** FLOAT16 (default) or FLOAT32 scores. */
        public Builder scoreType(DType t) {
            if (t != DType.FLOAT16 && t != DType.FLOAT32)
                throw new IllegalArgumentException("score type must be float16 or float32, got " + t
                        + " (convert to uint8 afterwards with `relabel store convert`)");
            this.scoreType = t;
            return this;
        }

        /** The teacher's input normalization (default ImageNet's mean and std). */
        public Builder normalization(Normalization n) {
            this.normalization = Objects.requireNonNull(n, "normalization");
            return this;
        }

        /** Continue an unfinished store at the output (default) or discard it and start over. */
        public Builder resume(boolean on) {
            this.resume = on;
            return this;
        }

        /** Fail on the first unreadable image instead of skipping it. */
        public Builder strict(boolean on) {
            this.strict = on;
            return this;
        }

        /** Extra metadata for the store (e.g. the command line); not compared on resume. */
        public Builder metadata(String key, Object value) {
            if (key.equals("annotation") || key.equals("class_names") || key.equals("format"))
                throw new IllegalArgumentException("metadata key '" + key + "' is reserved");
            this.metadata.put(key, value);
            return this;
        }

        /** Called after each batch. */
        public Builder listener(Listener l) {
            this.listener = l;
            return this;
        }

        /** Where notes and skipped images are reported (default: the "org.relabel4j.annotate" System.Logger). */
        public Builder log(Consumer<String> sink) {
            this.log = Objects.requireNonNull(sink, "log");
            return this;
        }

        public Annotator build() {
            return new Annotator(this);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Annotator(%s, S=%d, k=%d, flip=%s, %s, shard %s)", teacherName, size, k,
                flip, device, shard == null ? "0/1" : shard);
    }
}
