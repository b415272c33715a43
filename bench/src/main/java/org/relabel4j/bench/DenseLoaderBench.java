package org.relabel4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
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
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Torch;

/**
 * The training loader's cost of dense targets: one epoch of the real {@link Loader} (JPEG decode, RandomResizedCrop
 * to {@code size}, flip, normalize, and per batch the LabelPooling targets from an ImageNet-format store: 1000
 * classes, k=5, 15x15, fp16) with the global targets only ({@code targets=global}, what ReLabel training pools) and
 * with the dense S x S targets as well ({@code targets=dense}, S=7: 196 KB per crop). The score is seconds per
 * epoch; each invocation also prints the loader's share of time spent on label maps ({@code Loader.Stats}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
public class DenseLoaderBench {
    @Param({"global", "dense"})
    public String targets;

    @Param({"224"})
    public int size;

    @Param({"7"})
    public int s;

    @Param({"32"})
    public int batch;

    @Param({"8"})
    public int batches;

    @Param({"2"})
    public int workers;

    Path root;
    LabelMapStore store;
    Dataset ds;

    @Setup(Level.Trial)
    public void data() throws IOException {
        Torch.init();
        root = Files.createTempDirectory("denseloaderbench");
        Path maps = Inputs.writeTrainSet(root, batches * batch, 17);
        ds = Datasets.open("imagefolder:" + root.resolve("train"));
        store = LabelMapStore.open(maps);
    }

    Loader loader;

    @Setup(Level.Invocation)
    public void loader() {
        TrainTransform transform = new TrainTransform(size, RandomResizedCrop.imagenet(), true, null, null,
                Normalization.IMAGENET);
        Loader.Builder b = Loader.builder(ds, transform).batchSize(batch).workers(workers).seed(3).dropLast(true)
                .labelMaps(store, LabelPooling.builder(1000).softmax(true).build(), false);
        if (targets.equals("dense")) b.densePooling(LabelPooling.builder(1000).softmax(true).outputSize(s).build());
        loader = b.build();
    }

    @Benchmark
    public long epoch() {
        long sum = 0;
        try (Loader.Epoch e = loader.epoch(0)) {
            while (e.hasNext()) {
                try (Batch b = e.next()) {
                    sum += b.size();
                }
            }
        }
        return sum;
    }

    @TearDown(Level.Invocation)
    public void report() {
        Loader.Stats st = loader.stats();
        System.out.printf(Locale.ROOT, "%n[dense-loader-bench] %s S=%d %dpx b%d: decode+transform %.1f ms/batch, label "
                + "maps %.1f ms/batch (worker CPU time), label share %.1f%%%n", targets, targets.equals("dense") ? s : 1,
                size, batch, st.decodeNanos() / 1e6 / batches, st.labelNanos() / 1e6 / batches, 100 * st.labelShare());
        loader.close();
    }

    @TearDown(Level.Trial)
    public void clean() {
        store.close();
        TrainBench.delete(root);
    }
}
