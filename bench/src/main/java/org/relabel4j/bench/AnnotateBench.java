package org.relabel4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch_cuda;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.annotate.Annotator;
import org.relabel4j.annotate.MapRecordWriter;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.TopK;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.Models;
import org.relabel4j.model.ModuleClassifier;

/**
 * Annotation with a ResNet teacher (1000 classes, random weights: the time does not depend on them) on the CPU, or
 * on a GPU with {@code -p device=cuda} (a -Pgpu build; forward times then end at a device synchronization):
 * <ul>
 *   <li>{@code annotate}: one whole {@link Annotator} run over {@code images} JPEGs of 500x375 (ImageNet's typical
 *       size) into a new store (decode + resize on {@code workers} loader threads, the dense forward, top-k, the
 *       store); seconds per run, setup included (the probe forward, opening and finishing the store). Each run also
 *       prints its images/s and the shares the Annotator measured inside the pipeline.
 *   <li>{@code forwardDense}: the teacher's dense forward of one batch of {@code teacherBatch} images S x S
 *       ([B,1000,7,7] at 224), ms per batch.
 *   <li>{@code topkAndStore}: the same batch's dense logits to the store: TopK (k=5, fp16) then
 *       {@link MapRecordWriter} (host copy of the k entries, records, append, flush), ms per batch. Its ratio to
 *       {@code forwardDense} is the "share of time in top-k + store writing" (goal <= 1%).
 * </ul>
 */
@Fork(1)
public class AnnotateBench {
    /** The teacher and the data, shared by the benchmarks. */
    @State(Scope.Benchmark)
    public static class Teacher {
        @Param({"resnet50"})
        public String arch;

        @Param({"224"})
        public int size;

        /** Images per teacher forward. */
        @Param({"8"})
        public int teacherBatch;

        /** Images per annotate run. */
        @Param({"16"})
        public int images;

        /** Loader threads of an annotate run. */
        @Param({"2"})
        public int workers;

        /** Where the teacher and the top-k run: cpu, or cuda[:N] (a -Pgpu build on a GPU machine). */
        @Param({"cpu"})
        public String device;

        ModuleClassifier model;
        Path root;
        Dataset dataset;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Torch.init();
            root = Files.createTempDirectory("annotatebench");
            Inputs.writeJpegFolder(root.resolve("images"), images, 500, 375, 12, new SplittableRandom(23));
            dataset = Datasets.open("imagefolder:" + root.resolve("images"));
            model = Models.create(arch, 1000, ModelOptions.defaults().withSeed(0L));
            model.train(false);
            model.to(Devices.torchDevice(device));
        }

        @TearDown(Level.Trial)
        public void clean() {
            model.close();
            TrainBench.delete(root);
        }
    }

    /** One annotate run per invocation, into a fresh store. */
    @State(Scope.Thread)
    public static class Run {
        Path out;
        Annotator.Summary summary;
        int runs;

        @Setup(Level.Invocation)
        public void fresh(Teacher t) {
            out = t.root.resolve("maps" + (runs++) + ".rlm");
        }

        @TearDown(Level.Invocation)
        public void report(Teacher t) throws IOException {
            Annotator.Summary s = summary;
            System.out.printf(Locale.ROOT, "%n[annotate-bench] %s %dpx b%d w%d: %d images in %.2f s = %.2f images/s; "
                    + "forward %.2f s, input %.3f s, top-k %.4f s, store %.4f s (top-k + store = %.3f%% of the "
                    + "forward), waiting for decoding %.2f s%n", t.arch, t.size, t.teacherBatch, t.workers,
                    s.written(), s.seconds(), s.imagesPerSecond(), s.forwardSeconds(), s.inputSeconds(),
                    s.topkSeconds(), s.storeSeconds(), 100 * s.topkStoreShare(), s.waitSeconds());
            Files.deleteIfExists(out);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public Annotator.Summary annotate(Teacher t, Run r) throws IOException {
        r.summary = Annotator.builder(t.model).size(t.size).k(5).batchSize(t.teacherBatch).workers(t.workers)
                .device(t.device).log(m -> {}).build().run(t.dataset, r.out);
        return r.summary;
    }

    /** One batch of normalized-looking input, its dense logits, and a store to write them into. */
    @State(Scope.Thread)
    public static class Batch {
        Tensor x, dense;
        TopK topk;
        List<String> keys;
        LabelMapStoreWriter writer;
        MapRecordWriter records;
        int stores;
        boolean cuda;

        @Setup(Level.Trial)
        public void setup(Teacher t) {
            try (NoGradGuard g = new NoGradGuard()) {
                torch.manual_seed(1);
                x = torch.randn(t.teacherBatch, 3, t.size, t.size).to(Devices.torchDevice(t.device), ScalarType.Float);
                dense = t.model.forwardDense(x);
            }
            cuda = x.is_cuda();
            topk = TopK.of(5, DType.FLOAT16, null, 2);
            keys = new ArrayList<>();
            for (int i = 0; i < t.teacherBatch; ++i) keys.add(String.format("n%08d/n%08d_%05d", i, i, 10026 + i));
        }

        @Setup(Level.Iteration)
        public void store(Teacher t) throws IOException {
            long[] s = Tensors.shape(dense);
            MapFormat f = new MapFormat((int) s[1], 5, (int) s[2], (int) s[3], DType.FLOAT16, DType.UINT16);
            writer = LabelMapStoreWriter.create(t.root.resolve("parts" + (stores++) + ".rlm"), f, Map.of());
            records = new MapRecordWriter(writer);
        }

        @TearDown(Level.Iteration)
        public void drop() throws IOException {
            writer.abort();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 1, time = 5)
    @Measurement(iterations = 3, time = 10)
    public long forwardDense(Teacher t, Batch b) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            long n = t.model.forwardDense(b.x).numel();
            if (b.cuda) torch_cuda.device_synchronize();
            return n;
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, time = 1)
    @Measurement(iterations = 5, time = 1)
    public long topkAndStore(Batch b) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            TensorOps.TopKTensors r = TensorOps.topk(b.topk, b.dense);
            r.checkFinite();
            b.records.write(b.keys, r);
            return b.writer.count();
        }
    }
}
