package org.relabel4j.store;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.torchsave.TorchSave;
import org.relabel4j.torchsave.TorchTensor;

/**
 * Imports a tree of per-image torch.save label maps into one store: the released ReLabel maps
 * ({@code <wnid>/<stem>.pt}, one tensor {@code [2,k,H,W]}: [0] top-k logits, [1] class ids as floats) and
 * TokenLabeling's (the same layout in float16, ids as halves, any H x W). Keys are the paths relative to the tree
 * root without the extension. Files are decoded on {@code threads} threads and written in sorted key order; the
 * import holds O(threads) maps in memory. Unreadable files (a torch.save file that does not parse or is unsafe, a
 * tensor of another shape, class ids out of range, scores that are not finite or overflow the store's score type)
 * are collected with their reason (or, with {@code strict}, stop the import before anything is written at the
 * output). A finished store at the output is replaced only with {@code overwrite}; {@code resume} continues an
 * unfinished one and refuses a finished one (there is nothing to continue).
 */
public final class LabelMapImport {
    /** The tree's flavour; both hold [2,k,H,W] tensors. */
    public enum Source {
        /** naver-ai/relabel_imagenet: float32 (or float16) maps, usually 5 x 15 x 15. */
        OFFICIAL,
        /** TokenLabeling: float16 maps of any H x W, class ids stored as halves. */
        TOKENLABEL
    }

    /** What to import and how. {@code shard} may be null (everything); {@code metadata} is added to the store's. */
    public record Options(Source source, Path src, Path out, int classes, DType scoreType, int threads, boolean strict,
            Shard shard, boolean resume, boolean overwrite, Map<String, ?> metadata) {
        /** Checks the options: source, src and out given, classes >= 1, threads >= 1. */
        public Options {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(src, "src");
            Objects.requireNonNull(out, "out");
            if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** A file that could not be imported, and why. */
    public record Failure(Path file, String reason) {}

    /** The outcome: the store written, records in it, files skipped (already imported on resume), failures. */
    public record Result(Path store, long records, long resumed, List<Failure> failures, MapFormat format, long files) {}

    private LabelMapImport() {}

    /** The .pt files below {@code src}, sorted by their key. */
    public static List<Path> listFiles(Path src) throws IOException {
        if (!Files.isDirectory(src)) throw new StoreException(src, "not a directory");
        try (Stream<Path> s = Files.walk(src, FileVisitOption.FOLLOW_LINKS)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".pt") && Files.isRegularFile(p))
                    .sorted((a, b) -> key(src, a).compareTo(key(src, b))).toList();
        }
    }

    /** The key of a file: its path relative to the root, '/'-separated, without the extension. */
    public static String key(Path root, Path file) {
        String rel = root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
        int dot = rel.lastIndexOf('.');
        return dot > rel.lastIndexOf('/') ? rel.substring(0, dot) : rel;
    }

    /** One decoded map, or why it could not be. */
    private record Decoded(Path file, String key, float[] scores, int[] ids, long[] shape, String error) {}

    /**
     * Imports the .pt tree {@code o.src()} (or one shard of it) into the store {@code o.out()}, written atomically;
     * {@code progress} (may be null) gets the number of files done. Unreadable files fail the run with {@code
     * strict}, else are listed in the result.
     */
    public static Result run(Options o, LongConsumer progress) throws IOException {
        checkOutput(o);
        List<Path> files = listFiles(o.src());
        if (o.shard() != null) files = o.shard().slice(files);
        if (files.isEmpty()) throw new StoreException(o.src(), "no .pt files" + (o.shard() != null ? " in shard " + o.shard() : ""));
        List<Failure> failures = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(o.threads(), r -> {
            Thread t = new Thread(r, "relabel-import");
            t.setDaemon(true);
            return t;
        });
        try {
            // The format comes from the first file that decodes.
            MapFormat format = null;
            int first = 0;
            for (; first < files.size() && format == null; ++first) {
                Decoded d = decode(o, files.get(first), null);
                if (d.error() != null) {
                    fail(o, failures, d);
                } else {
                    long[] s = d.shape();
                    format = new MapFormat(o.classes(), (int) s[1], (int) s[2], (int) s[3], o.scoreType(),
                            MapFormat.indexTypeFor(o.classes()));
                }
            }
            if (format == null) throw new StoreException(o.src(), "no file could be read: " + failures.get(0).reason());
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("source", o.src().toAbsolutePath().toString());
            meta.put("source_format", o.source().name().toLowerCase());
            if (o.shard() != null) meta.put("shard", o.shard().toString());
            if (o.metadata() != null) meta.putAll(o.metadata());
            LabelMapStoreWriter w = o.resume() ? LabelMapStoreWriter.resume(o.out(), format, meta)
                    : LabelMapStoreWriter.create(o.out(), format, meta);
            boolean done = false;
            long resumed = w.count();
            try {
                Set<String> have = new HashSet<>();
                w.forEachKey(have::add);
                final MapFormat fmt = format;
                Deque<Future<Decoded>> window = new ArrayDeque<>();
                long seen = 0;
                int next = first - 1;  // the first decodable file is decoded again: keeps the loop uniform
                while (next < files.size() || !window.isEmpty()) {
                    while (next < files.size() && window.size() < 4 * o.threads()) {
                        Path f = files.get(next++);
                        if (have.contains(key(o.src(), f))) {
                            ++seen;  // imported before the interruption
                            continue;
                        }
                        window.add(pool.submit(() -> decode(o, f, fmt)));
                    }
                    if (window.isEmpty()) break;
                    Decoded d = get(window.poll());
                    if (d.error() == null) {
                        try {
                            w.append(d.key(), d.scores(), d.ids());
                        } catch (IllegalArgumentException e) {  // what the store cannot hold (e.g. fp16 overflow)
                            d = error(d.file(), d.key(), e.getMessage().replace(d.key() + ": ", ""));
                        }
                    }
                    if (d.error() != null) fail(o, failures, d);
                    ++seen;
                    if (progress != null) progress.accept(seen);
                }
                w.finish();
                done = true;
                return new Result(o.out(), w.count(), resumed, failures, format, files.size());
            } finally {
                if (!done) {
                    if (o.strict()) w.abort();
                    else w.close();  // keeps the partial store for --resume
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Fails when the output is a finished store and neither {@code overwrite} says to replace it nor is there
     * anything to {@code resume} (it is complete); {@link #run} checks it first.
     */
    public static void checkOutput(Options o) throws IOException {
        Path out = o.out();
        if (!Files.exists(out) || LabelMapStoreWriter.unfinished(out)) return;
        if (Files.isDirectory(out)) throw new StoreException(out, "is a directory: --out names the store file");
        if (o.resume())
            throw new StoreException(out, "is complete" + records(out) + ": there is nothing to resume; to import "
                    + "again, pass --overwrite without --resume");
        if (!o.overwrite()) throw new StoreException(out, "exists" + records(out) + ": pass --overwrite to replace it");
    }

    /** " (N records)" of a readable store, else "". */
    private static String records(Path store) {
        try (LabelMapStore s = LabelMapStore.open(store)) {
            return " (" + s.size() + " records)";
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static void fail(Options o, List<Failure> failures, Decoded d) throws StoreException {
        if (o.strict()) throw new StoreException(d.file(), d.error());
        failures.add(new Failure(d.file(), d.error()));
    }

    private static Decoded get(Future<Decoded> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("import interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException re) throw re;
            throw new IOException(c);
        }
    }

    /** Reads one file; checks its tensor against {@code expected} (null: any [2,k,H,W]). Never throws. */
    private static Decoded decode(Options o, Path file, MapFormat expected) {
        String key = key(o.src(), file);
        try {
            TorchTensor t = TorchSave.loadTensor(file);
            long[] s = t.shape();
            if (s.length != 4 || s[0] != 2)
                return error(file, key, "holds a " + t.dtype().label() + Arrays.toString(s) + " tensor, expected [2, k, H, W]"
                        + " ([0] scores, [1] class ids)");
            if (t.dtype() != DType.FLOAT32 && t.dtype() != DType.FLOAT16 && t.dtype() != DType.FLOAT64)
                return error(file, key, "holds a " + t.dtype().label() + " tensor, expected floating point");
            if (o.source() == Source.TOKENLABEL && t.dtype() != DType.FLOAT16)
                return error(file, key, "holds a " + t.dtype().label() + " tensor; TokenLabeling maps are float16");
            if (expected != null && (s[1] != expected.k() || s[2] != expected.height() || s[3] != expected.width()))
                return error(file, key, "map " + Arrays.toString(s) + " differs from the first file's [2, " + expected.k()
                        + ", " + expected.height() + ", " + expected.width() + "]");
            if (s[1] < 1 || s[1] > MapFormat.MAX_K || s[2] < 1 || s[3] < 1 || s[2] > MapFormat.MAX_SIDE || s[3] > MapFormat.MAX_SIDE)
                return error(file, key, "map " + Arrays.toString(s) + " is outside the supported k <= 64, sides <= 4096");
            if (s[1] > o.classes())
                return error(file, key, "k = " + s[1] + " exceeds classes = " + o.classes());
            int entries = (int) (s[1] * s[2] * s[3]);
            NdArray data = t.data();
            float[] scores = new float[entries];
            int[] ids = new int[entries];
            int cells = (int) (s[2] * s[3]);
            for (int e = 0; e < entries; ++e) {
                scores[e] = data.getFloat(e);
                float id = data.getFloat(entries + e);
                if (!Float.isFinite(scores[e]))
                    return error(file, key, "score at " + entry(e, cells, s[3]) + " is " + scores[e]);
                if (id != Math.rint(id) || id < 0 || id >= o.classes())
                    return error(file, key, "class id " + id + " at " + entry(e, cells, s[3]) + " is not an integer in [0, "
                            + o.classes() + ")");
                ids[e] = (int) id;
            }
            return new Decoded(file, key, scores, ids, s, null);
        } catch (IOException | RuntimeException e) {
            return error(file, key, e.getMessage() == null ? e.toString() : e.getMessage().replace(file + ": ", ""));
        }
    }

    /** "(k=j, y=y, x=x)" of flat entry e of a [k,H,W] map. */
    private static String entry(int e, int cells, long width) {
        return "(k=" + e / cells + ", y=" + (e % cells) / width + ", x=" + (e % cells) % width + ")";
    }

    private static Decoded error(Path file, String key, String why) {
        return new Decoded(file, key, null, null, null, why);
    }
}
