package org.relabel4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
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
import org.relabel4j.nd.DType;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;
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
        SplittableRandom rnd = new SplittableRandom(17);
        Inputs.writeJpegFolder(root.resolve("train"), batches * batch, 400, 300, 8, rnd);
        Path maps = root.resolve("maps.rlm");
        ds = Datasets.open("imagefolder:" + root.resolve("train"));
        MapFormat f = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(maps, f, Map.of())) {
            for (int i = 0; i < ds.size(); ++i) {
                float[] scores = new float[5 * 225];
                int[] ids = new int[5 * 225];
                for (int cell = 0; cell < 225; ++cell) {
                    float v = 8;
                    for (int k = 0; k < 5; ++k) {
                        v -= (float) rnd.nextDouble();
                        scores[k * 225 + cell] = v;
                        ids[k * 225 + cell] = (ds.sample(i).label() * 97 + k * 13 + cell % 7) % 1000;
                    }
                }
                w.append(ds.sample(i).key(), scores, ids);
            }
            w.finish();
        }
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
