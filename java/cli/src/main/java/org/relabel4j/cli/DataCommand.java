package org.relabel4j.cli;

import org.relabel4j.annotate.LabelMapFigure;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.image.DecodedImage;
import org.relabel4j.data.image.ImageDecoder;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.ColorJitter;
import org.relabel4j.data.transform.Lighting;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel data}: look at a dataset the way the loader will. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Dataset checks and previews.",
        subcommands = {DataCommand.Check.class, DataCommand.Preview.class, DataCommand.Bench.class})
final class DataCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static final ImageDecoder DECODER = new ImageDecoder();

    static final String DATA_HELP = "dataset: DIR (ImageFolder), imagefolder:DIR, imagenetv2:DIR, list:FILE (path<TAB>label),"
            + " tar:PATTERN (WebDataset shards, e.g. train-{000000..000146}.tar); multi-label: multilist:FILE"
            + " (path<TAB>id,id,...), coco:IMAGES_DIR:INSTANCES.json[:annotated]";

    @Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Counts samples and classes, finds unreadable images (decoding every one unless --headers-only),"
                    + " and with --labelmaps the samples without a label map and the maps without a sample.",
                    "Exits 2 when something is wrong."})
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data", required = true, paramLabel = "SPEC", description = DATA_HELP)
        String data;

        @Option(names = "--labelmaps", paramLabel = "maps.rlm", description = "label-map store to check against")
        Path labelmaps;

        @Option(names = "--headers-only", description = "read image headers only (fast; misses corrupt image data)")
        boolean headersOnly;

        @Option(names = "--threads", defaultValue = "0", description = "threads (0: all available processors)")
        int threads;

        @Option(names = "--show", defaultValue = "20", description = "problems listed per kind (default: ${DEFAULT-VALUE})")
        int show;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            FileArgs.of().inSpec("--data", data).in("--labelmaps", labelmaps).check();
            Dataset ds = Datasets.open(data);
            int n = ds.size(), classes = ds.classes().size();
            int[] perClass = new int[Math.max(classes, 1)];
            for (int i = 0; i < n; ++i) {
                int label = ds.sample(i).label();
                if (label >= 0 && label < perClass.length) ++perClass[label];
            }
            int min = Integer.MAX_VALUE, max = 0, empty = 0;
            for (int c = 0; c < classes; ++c) {
                min = Math.min(min, perClass[c]);
                max = Math.max(max, perClass[c]);
                if (perClass[c] == 0) ++empty;
            }
            out.println("dataset:   " + ds.description());
            out.printf(Locale.ROOT, "samples:   %d in %d classes (%d to %d per class%s)%n", n, classes, classes == 0 ? 0 : min,
                    max, empty > 0 ? ", " + empty + " empty" : "");
            List<String> unreadable = unreadable(ds, n);
            out.printf("unreadable: %d%s%n", unreadable.size(), headersOnly ? " (headers only)" : "");
            unreadable.stream().limit(show).forEach(u -> out.println("  " + u));
            boolean bad = !unreadable.isEmpty() || empty > 0;
            if (labelmaps != null) {
                try (LabelMapStore store = LabelMapStore.open(labelmaps)) {
                    List<String> noMap = new ArrayList<>();
                    Set<String> keys = new HashSet<>(n * 2);
                    int noMapCount = 0;
                    for (int i = 0; i < n; ++i) {
                        String key = ds.sample(i).key();
                        keys.add(key);
                        if (store.find(key) < 0 && noMapCount++ < show) noMap.add(key);
                    }
                    List<String> noSample = new ArrayList<>();
                    long noSampleCount = 0;
                    for (long r = 0; r < store.size(); ++r) {
                        String key = store.key(r);
                        if (!keys.contains(key) && noSampleCount++ < show) noSample.add(key);
                    }
                    out.printf("label maps: %s, %d records (%s)%n", store.path(), store.size(), store.format());
                    out.printf("samples without a label map: %d%n", noMapCount);
                    noMap.forEach(k -> out.println("  " + k));
                    out.printf("label maps without a sample: %d%n", noSampleCount);
                    noSample.forEach(k -> out.println("  " + k));
                    if (store.format().classes() < classes) {
                        out.printf("label maps have %d classes, the dataset %d%n", store.format().classes(), classes);
                        bad = true;
                    }
                    bad |= noMapCount > 0;
                }
            }
            return bad ? RelabelCli.EXIT_BAD_INPUT : 0;
        }

        private List<String> unreadable(Dataset ds, int n) throws Exception {
            int t = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
            ExecutorService pool = Executors.newFixedThreadPool(t);
            List<String> bad = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicLong done = new AtomicLong();
            try (Progress progress = Progress.start("check", n, "images", spec.commandLine().getErr())) {
                List<Future<?>> futures = new ArrayList<>();
                for (int w = 0; w < t; ++w) {
                    final int start = w;
                    futures.add(pool.submit(() -> {
                        for (int i = start; i < n; i += t) {
                            String origin = ds.sample(i).origin();
                            try {
                                byte[] bytes = ds.read(i);
                                DECODER.probe(bytes, origin);
                                if (!headersOnly) {
                                    try (DecodedImage img = DECODER.decode(bytes, 1, origin)) {
                                        img.width();
                                    }
                                }
                            } catch (IOException | RuntimeException e) {
                                bad.add(origin + ": " + e.getMessage());
                            }
                            progress.stepTo(done.incrementAndGet());
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) f.get();
            } finally {
                pool.shutdownNow();
            }
            bad.sort(null);
            return bad;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Measures the training loader: images/s of decode + RandomResizedCrop + flip + jitter + lighting +"
                    + " normalize, and with --labelmaps the share of loader time spent on label maps and LabelPooling.",
                    "The first epoch warms up (JIT, page cache) and is not counted. Prints one JSON line."})
    static final class Bench implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data", required = true, paramLabel = "SPEC", description = DATA_HELP)
        String data;

        @Option(names = "--labelmaps", paramLabel = "maps.rlm", description = "label-map store: pool targets per batch")
        Path labelmaps;

        @Option(names = "--workers", defaultValue = "1", description = "loader threads (default: ${DEFAULT-VALUE})")
        int workers;

        @Option(names = "--batch", defaultValue = "64", description = "batch size (default: ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--epochs", defaultValue = "3", description = "timed epochs after one warm-up (default: ${DEFAULT-VALUE})")
        int epochs;

        @Option(names = "--size", defaultValue = "224", description = "crop size (default: ${DEFAULT-VALUE})")
        int size;

        @Option(names = "--residency", paramLabel = "HOW", defaultValue = "auto", description = "how the loader holds "
                + "the store, as data.relabel.residency in training: auto, mapped, mapped-readahead or ram "
                + "(default: ${DEFAULT-VALUE})")
        String residency;

        @Override
        public Integer call() throws Exception {
            if (epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
            LabelMapStore.Residency how = LabelMapStore.Residency.parse(residency);
            FileArgs.of().inSpec("--data", data).in("--labelmaps", labelmaps).check();
            Dataset ds = Datasets.open(data);
            LabelMapStore store = labelmaps == null ? null : LabelMapStore.open(labelmaps, how);
            try {
                Loader.Builder b = Loader.builder(ds, TrainTransform.imagenet(size)).batchSize(batch).workers(workers)
                        .seed(0).log(m -> spec.commandLine().getErr().println("warning: " + m));
                if (store != null)
                    b.labelMaps(store, LabelPooling.builder(store.format().classes()).softmax(true).build(), true);
                try (Loader loader = b.build()) {
                    drain(loader, 0);
                    Loader.Stats before = loader.stats();
                    long t0 = System.nanoTime();
                    long images = 0;
                    for (int e = 1; e <= epochs; ++e) images += drain(loader, e);
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    Loader.Stats after = loader.stats();
                    double decode = (after.decodeNanos() - before.decodeNanos()) / 1e9;
                    double label = (after.labelNanos() - before.labelNanos()) / 1e9;
                    spec.commandLine().getOut().printf(Locale.ROOT,
                            "{\"bench\": \"loader\", \"data\": \"%s\", \"samples\": %d, \"workers\": %d, \"batch\": %d, "
                                    + "\"size\": %d, \"epochs\": %d, \"images\": %d, \"seconds\": %.3f, \"images_per_s\": %.1f, "
                                    + "\"images_per_s_per_worker\": %.1f, \"decode_transform_s\": %.3f, \"labelmaps_s\": %.4f, "
                                    + "\"labelmaps_share\": %.5f, \"residency\": \"%s\"}%n",
                            data.replace("\\", "/"), ds.size(), workers, batch, size, epochs, images, seconds,
                            images / seconds, images / seconds / workers, decode, label,
                            decode + label == 0 ? 0 : label / (decode + label), store == null ? "none" : store.residency().key());
                }
                return 0;
            } finally {
                if (store != null) store.close();
            }
        }

        private static long drain(Loader loader, int epoch) {
            long n = 0;
            try (Loader.Epoch e = loader.epoch(epoch)) {
                while (e.hasNext()) {
                    try (Batch b = e.next()) {
                        n += b.size();
                    }
                }
            }
            return n;
        }
    }

    @Command(name = "preview", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Writes a PNG grid of augmented training crops, each captioned with its label and, with"
                    + " --labelmaps, its top-3 LabelPooling targets.")
    static final class Preview implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data", required = true, paramLabel = "SPEC", description = DATA_HELP)
        String data;

        @Option(names = "--labelmaps", paramLabel = "maps.rlm", description = "label-map store for the targets")
        Path labelmaps;

        @Option(names = "--n", defaultValue = "16", description = "crops (default: ${DEFAULT-VALUE})")
        int n;

        @Option(names = "--size", defaultValue = "224", description = "crop size (default: ${DEFAULT-VALUE})")
        int size;

        @Option(names = "--seed", defaultValue = "0", description = "augmentation seed")
        long seed;

        @Option(names = "--mode", defaultValue = "logits", paramLabel = "logits|probs", description = "pooling mode")
        String mode;

        @Option(names = "--out", required = true, paramLabel = "grid.png", description = "output PNG (written atomically)")
        Path out;

        @Override
        public Integer call() throws Exception {
            if (n < 1 || n > 1024) throw new IllegalArgumentException("--n must be in [1, 1024], got " + n);
            FileArgs.of().inSpec("--data", data).in("--labelmaps", labelmaps).out("--out", out).check();
            Dataset ds = Datasets.open(data);
            // Augment without normalization so the crops can be shown as they are.
            TrainTransform t = new TrainTransform(size, RandomResizedCrop.imagenet(), true, new ColorJitter(0.4f, 0.4f, 0.4f),
                    Lighting.imagenet(0.1f), null);
            LabelMapStore store = labelmaps == null ? null : LabelMapStore.open(labelmaps);
            try {
                Loader.Builder b = Loader.builder(ds, t).batchSize(n).workers(1).seed(seed).shuffle(true)
                        .log(m -> spec.commandLine().getErr().println("warning: " + m));
                if (store != null)
                    b.labelMaps(store, LabelPooling.builder(store.format().classes()).softmax(true)
                            .mode(PoolCommand.parseMode(mode)).build(), true);
                Batch batch;
                try (Loader loader = b.build(); Loader.Epoch e = loader.epoch(0)) {
                    batch = e.next();
                }
                BufferedImage grid = render(batch, ds.classes(), size);
                LabelMapFigure.writePng(grid, out);
                spec.commandLine().getOut().printf("wrote %s: %d crops of %s, %dx%d%n", out, batch.size(), data,
                        grid.getWidth(), grid.getHeight());
                return 0;
            } finally {
                if (store != null) store.close();
            }
        }

        static BufferedImage render(Batch batch, List<String> classes, int size) {
            int n = batch.size(), cols = (int) Math.ceil(Math.sqrt(n)), rows = (n + cols - 1) / cols;
            int caption = 56, tileH = size + caption;
            BufferedImage img = new BufferedImage(cols * size, rows * tileH, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            int hw = size * size;
            for (int i = 0; i < n; ++i) {
                int ox = (i % cols) * size, oy = (i / cols) * tileH;
                for (int y = 0; y < size; ++y) {
                    for (int x = 0; x < size; ++x) {
                        long base = (long) i * 3 * hw + (long) y * size + x;
                        int r = channel(batch.images().getFloat(base)), gr = channel(batch.images().getFloat(base + hw)),
                                bl = channel(batch.images().getFloat(base + 2L * hw));
                        img.setRGB(ox + x, oy + y, (r << 16) | (gr << 8) | bl);
                    }
                }
                g.setColor(Color.BLACK);
                int label = (int) batch.labels().getLong(i);
                g.drawString(trim("label: " + name(classes, label) + (batch.flips().getLong(i) != 0 ? " (flipped)" : ""), size),
                        ox + 3, oy + size + 13);
                if (batch.targets() != null) {
                    int c = (int) batch.targets().shape(1);
                    List<int[]> top = new ArrayList<>();
                    boolean[] used = new boolean[c];
                    for (int k = 0; k < Math.min(3, c); ++k) {
                        int best = -1;
                        for (int j = 0; j < c; ++j) {
                            if (!used[j] && (best < 0 || batch.targets().getFloat((long) i * c + j)
                                    > batch.targets().getFloat((long) i * c + best))) best = j;
                        }
                        used[best] = true;
                        top.add(new int[] {best});
                    }
                    for (int k = 0; k < top.size(); ++k) {
                        int cls = top.get(k)[0];
                        g.drawString(trim(String.format(Locale.ROOT, "%.2f %s", batch.targets().getFloat((long) i * c + cls),
                                name(classes, cls)), size), ox + 3, oy + size + 26 + 13 * k);
                    }
                }
            }
            g.dispose();
            return img;
        }

        private static int channel(float v) {
            int c = Math.round(v * 255);
            return c < 0 ? 0 : Math.min(255, c);
        }

        private static String name(List<String> classes, int c) {
            return c >= 0 && c < classes.size() ? c + " " + classes.get(c) : String.valueOf(c);
        }

        private static String trim(String s, int size) {
            int max = Math.max(8, size / 6);
            return s.length() <= max ? s : s.substring(0, max - 1) + "…";
        }
    }
}
