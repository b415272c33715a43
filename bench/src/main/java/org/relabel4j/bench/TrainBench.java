package org.relabel4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainConfig;
import org.relabel4j.train.Trainer;

/**
 * Training steps with ReLabel targets (global, or global + dense S x S) against one-hot targets: the same model,
 * data, seed and step count, through
 * the real {@link Trainer} (loader threads decoding JPEGs and, for ReLabel, pooling each crop's label map; the
 * forward, soft-target cross-entropy, backward and SGD step). One invocation trains one epoch of {@code steps}
 * batches on a fresh run directory (no validation, no checkpoint; model.pth is written at the end, in both modes).
 *
 * <p>The score is seconds per epoch, setup included (model construction, loader start); each invocation also prints
 * the median per-step time of steps 2..N and the images/s from the run's metrics.jsonl, which excludes the setup,
 * and the resident memory at the second and the last step (growth across steps would show there).
 *
 * <p>Data: {@code steps * batch} random-texture JPEGs of 400x300 in 10 classes. Label maps: ImageNet's format (1000
 * classes, k=5, 15x15, fp16), random. The model has 1000 outputs in both modes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
public class TrainBench {
    @Param({"resnet18"})
    public String arch;

    /** onehot, relabel (global LabelPooling targets), dense (global + S x S targets, data.relabel.dense). */
    @Param({"onehot", "relabel", "dense"})
    public String targets;

    @Param({"224"})
    public int size;

    @Param({"32"})
    public int batch;

    @Param({"6"})
    public int steps;

    /** LibTorch intra-op threads (compute.threads; 0: LibTorch's default) and loader threads. */
    @Param({"0"})
    public int threads;

    @Param({"2"})
    public int workers;

    /** compute.device: cpu, or cuda[:N] (ReLabel's targets then pooled on the device from the resident store). */
    @Param({"cpu"})
    public String device;

    Path root, store, out;
    int runs;

    @Setup(Level.Trial)
    public void data() throws IOException {
        Torch.init();
        root = Files.createTempDirectory("trainbench");
        store = Inputs.writeTrainSet(root, steps * batch, 17);
    }

    @Setup(Level.Invocation)
    public void runDirectory() {
        out = root.resolve("run" + (runs++));
    }

    @Benchmark
    public Trainer.Result epoch() throws IOException {
        List<String> o = new ArrayList<>(List.of("model.arch=" + arch, "model.classes=1000",
                "data.train=imagefolder:" + root.resolve("train"), "data.val=''", "data.image_size=" + size,
                "optim.batch_size=" + batch, "optim.epochs=1", "optim.warmup.epochs=0", "optim.lr.init=0.01",
                "util.out=" + out, "util.print_freq=1", "util.checkpoint_every=0", "compute.num_workers=" + workers, "compute.threads=" + threads, "compute.device=" + device));
        if (!targets.equals("onehot")) o.addAll(List.of("data.relabel.use=true", "data.relabel.path=" + store));
        if (targets.equals("dense")) o.add("data.relabel.dense=true");
        return new Trainer(TrainConfig.load(null, null, o), null, null).run(null);
    }

    @TearDown(Level.Invocation)
    public void report() throws IOException {
        List<Double> ms = new ArrayList<>(), data = new ArrayList<>(), compute = new ArrayList<>();
        double rss2 = 0, rssLast = 0;
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode r = json.readTree(line);
            if (!r.get("kind").asText().equals("step") || r.get("step").asLong() == 0) continue;
            ms.add(r.get("data_ms").asDouble() + r.get("compute_ms").asDouble());
            data.add(r.get("data_ms").asDouble());
            compute.add(r.get("compute_ms").asDouble());
            if (r.get("step").asLong() == 1) rss2 = r.get("rss_mb").asDouble();
            rssLast = r.get("rss_mb").asDouble();
        }
        double median = median(ms);
        System.out.printf(Locale.ROOT, "%n[train-bench] %s %s %dpx b%d: median step %.1f ms (data wait %.1f, compute %.1f; "
                + "steps 2..%d), %.1f img/s, RSS %.0f -> %.0f MB%n", arch, targets, size, batch, median, median(data),
                median(compute), steps, batch / (median / 1000), rss2, rssLast);
        delete(out);
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(Comparator.naturalOrder());
        return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
    }

    @TearDown(Level.Trial)
    public void clean() {
        delete(root);
    }

    static void delete(Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
