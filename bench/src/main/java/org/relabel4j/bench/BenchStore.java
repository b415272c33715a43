package org.relabel4j.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * The label-map store the store benchmarks read: {@value #RECORDS} ImageNet-like records (k=5, 15x15, C=1000,
 * fp16 scores, uint16 ids: 4,544 bytes each, 91 MB), keys like {@code n01440764/n01440764_12345}, written with
 * {@link LabelMapStoreWriter} into a temporary directory once per JVM and deleted when it exits.
 */
final class BenchStore {
    static final int RECORDS = 20_000;
    static final MapFormat FORMAT = new MapFormat(Inputs.CLASSES, Inputs.K, Inputs.SIDE, Inputs.SIDE, DType.FLOAT16,
            DType.UINT16);
    private static Path path;

    private BenchStore() {}

    /** The key of record r. */
    static String key(long r) {
        int synset = 1_440_764 + (int) (r % 1000);
        return String.format("n%08d/n%08d_%d", synset, synset, r);
    }

    /** The store file, built on first use. */
    static synchronized Path path() {
        if (path != null) return path;
        try {
            Path dir = Files.createTempDirectory("labelpool-bench-store");
            Path file = dir.resolve("bench.rlm");
            SplittableRandom rng = new SplittableRandom(Inputs.SEED_STORE);
            int hw = Inputs.SIDE * Inputs.SIDE;
            float[] scores = new float[Inputs.K * hw];
            int[] ids = new int[Inputs.K * hw];
            try (LabelMapStoreWriter w = LabelMapStoreWriter.create(file, FORMAT, Map.of("source", "labelpool-bench"))) {
                for (int r = 0; r < RECORDS; ++r) {
                    Inputs.fillMap(rng, Inputs.K, hw, Inputs.CLASSES, scores, ids);
                    w.append(key(r), scores, ids);
                }
                w.finish();
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Files.deleteIfExists(file);
                    Files.deleteIfExists(dir);
                } catch (IOException ignored) {
                    // a temporary file left behind
                }
            }));
            path = file;
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the benchmark store", e);
        }
    }

    /** Opens the store and reads every record once (CRC check), so that its pages are in the page cache. */
    static LabelMapStore openWarm() {
        try {
            LabelMapStore store = LabelMapStore.open(path());
            LabelMapStore.Verification v = store.verify(null);
            if (!v.ok()) throw new IllegalStateException("benchmark store " + path + " is corrupt: " + v);
            return store;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
