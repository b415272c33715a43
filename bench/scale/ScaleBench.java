import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * bench/scale.sh's measuring program (a single-file source program: java -cp "java/core/target/classes:java/cli/target/lib/*"
 * bench/scale/ScaleBench.java ...). Subcommands:
 *
 * <pre>
 *   write OUT N imagenet|tiny     writes N synthetic records (keys n%08d/n%08d_%d, 1000 folders) with
 *                                 LabelMapStoreWriter.append; prints the rate and the JVM's peak heap and VmHWM
 *   stats STORE                   open, find (random keys and every key in record order), verify of STORE
 *   read BATCHES [gather-only] BIG ANCHOR...
 *                                 random 1024-record gather + LabelPooling (S=1, softmax, one output per row)
 *                                 from each ANCHOR and BIG, per residency: the first BATCHES batches after opening
 *                                 (first touch of the mapping) and the same batches again (hot); one table row per
 *                                 measurement, then BIG's ratios to each anchor (gather-only: the mapped kinds, for
 *                                 reads after dropping the page cache)
 * </pre>
 */
public class ScaleBench {
    static final MapFormat IMAGENET = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
    static final MapFormat TINY = new MapFormat(1000, 1, 1, 1, DType.FLOAT16, DType.UINT16);

    /** n%08d/n%08d_%d of (i % 1000, i % 1000, i), without String.format's cost. */
    static String key(long i) {
        String folder = Long.toString(100_000_000L + i % 1000).substring(1);
        return new StringBuilder(32).append('n').append(folder).append("/n").append(folder).append('_').append(i)
                .toString();
    }

    public static void main(String[] args) throws Exception {
        org.bytedeco.javacpp.Loader.load(org.relabel4j.jni.RelabelNative.class);
        switch (args[0]) {
            case "write" -> write(Path.of(args[1]), Long.parseLong(args[2]), args[3].equals("tiny") ? TINY : IMAGENET);
            case "stats" -> stats(Path.of(args[1]));
            case "read" -> {
                boolean gatherOnly = args[2].equals("gather-only");
                List<Path> stores = Arrays.stream(args, gatherOnly ? 3 : 2, args.length).map(Path::of).toList();
                read(stores.get(0), stores.subList(1, stores.size()), Integer.parseInt(args[1]), gatherOnly);
            }
            default -> throw new IllegalArgumentException("write, stats or read, got " + args[0]);
        }
    }

    static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        return -1;
    }

    static void write(Path out, long n, MapFormat f) throws IOException {
        int entries = f.k() * f.height() * f.width();
        SplittableRandom rnd = new SplittableRandom(1);
        float[][] scores = new float[16][entries];
        int[][] ids = new int[16][entries];
        for (int m = 0; m < 16; ++m) {
            int cells = f.height() * f.width();
            for (int c = 0; c < cells; ++c) {
                int base = rnd.nextInt(f.classes());  // distinct ids within a cell
                for (int j = 0; j < f.k(); ++j) {
                    scores[m][j * cells + c] = (float) rnd.nextDouble(-4, 8);
                    ids[m][j * cells + c] = (base + 97 * j) % f.classes();
                }
            }
        }
        LabelMapStoreWriter.discard(out);  // a run of this bench that was stopped
        long t0 = System.nanoTime();
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of("source", "bench/scale.sh"), n)) {
            for (long i = 0; i < n; ++i) {
                int m = (int) (i & 15);
                w.append(key(i), scores[m].clone(), ids[m]);
            }
            long t1 = System.nanoTime();
            w.finish();
            long t2 = System.nanoTime();
            double s = (t2 - t0) / 1e9;
            System.out.printf(Locale.ROOT, "write: %d records (%d bytes each, %.2f GB file) in %.1f s (appends %.1f s, "
                    + "finish %.1f s): %.0f records/s; within a %d MB heap limit (-Xmx), process peak RSS (VmHWM: JVM, "
                    + "JIT, native) %.0f MB%n", n, f.layout().recordSize(), Files.size(out) / 1e9, s, (t1 - t0) / 1e9,
                    (t2 - t1) / 1e9, n / s, Runtime.getRuntime().maxMemory() >> 20, status("VmHWM") / 1e6);
        }
    }

    static void read(Path big, List<Path> anchors, int batches, boolean gatherOnly) throws IOException {
        // JIT warm-up on the first anchor (its own mapping, not measured), so that the first row is not the compiler's
        for (int i = 0; i < 3; ++i) gatherPool(anchors.get(0), LabelMapStore.Residency.MAPPED, batches, false, false);
        System.out.println("| store | residency | records | first touch: median ms/batch (min..max) | RSS growth per batch "
                + "| hot: median ms/batch | access |");
        System.out.println("|---|---|---|---|---|---|---|");
        Map<String, Map<Path, double[]>> medians = new LinkedHashMap<>();  // residency -> store -> {first touch, hot}
        List<Path> stores = new ArrayList<>(anchors);
        stores.add(big);
        for (LabelMapStore.Residency how : LabelMapStore.Residency.values()) {
            if (how == LabelMapStore.Residency.AUTO) continue;  // one of the others, chosen by the memory available
            for (Path p : stores) {
                // gather-only (after dropping the page cache): the mapped kinds; ram would read the whole file first
                if (how == LabelMapStore.Residency.RAM && (gatherOnly || Files.size(p) > ramBudget())) continue;
                medians.computeIfAbsent(name(how, false), k -> new LinkedHashMap<>())
                        .put(p, gatherPool(p, how, batches, true, false));
                // as the loader does: madvise(WILLNEED) of the batch's records first (timed with the gather here;
                // the loader issues it before decoding the batch's images)
                if (how == LabelMapStore.Residency.MAPPED)
                    medians.computeIfAbsent(name(how, true), k -> new LinkedHashMap<>())
                            .put(p, gatherPool(p, how, batches, true, true));
            }
        }
        System.out.println();
        for (Path anchor : anchors) {
            StringBuilder line = new StringBuilder("ratio " + big.getFileName() + " / " + anchor.getFileName()
                    + " (first touch, hot):");
            medians.forEach((how, byStore) -> {
                double[] b = byStore.get(big), a = byStore.get(anchor);
                if (a != null && b != null)
                    line.append(String.format(Locale.ROOT, " %s %.2fx, %.2fx;", how, b[0] / a[0], b[1] / a[1]));
            });
            System.out.println(line);
        }
    }

    static String name(LabelMapStore.Residency how, boolean prefetch) {
        return how.key() + (prefetch ? " + prefetch" : "");
    }

    /** Open, find and verify of a store. */
    static void stats(Path big) throws IOException {
        try (LabelMapStore s = LabelMapStore.open(big)) {
            long t0 = System.nanoTime();
            LabelMapStore reopened = LabelMapStore.open(big);
            double open = (System.nanoTime() - t0) / 1e9;
            reopened.close();
            int lookups = (int) Math.min(1_000_000, s.size());
            SplittableRandom rnd = new SplittableRandom(3);
            String[] keys = new String[lookups];
            long[] want = new long[lookups];
            for (int i = 0; i < lookups; ++i) keys[i] = key(want[i] = rnd.nextLong(s.size()));
            long t1 = System.nanoTime();
            for (int i = 0; i < lookups; ++i) if (s.find(keys[i]) != want[i]) throw new AssertionError(keys[i]);
            double find = (System.nanoTime() - t1) / 1e9;
            long inOrder = Math.min(s.size(), 2_000_000);  // the issue's figure: every key, in record order
            long t3 = System.nanoTime();
            for (long r = 0; r < inOrder; ++r) if (s.find(key(r)) != r) throw new AssertionError(r);
            double findInOrder = (System.nanoTime() - t3) / 1e9;
            double oneBuffer = oneBufferFind(big, s.size(), inOrder);
            long t2 = System.nanoTime();
            LabelMapStore.Verification v = s.verify(null);
            double verify = (System.nanoTime() - t2) / 1e9;
            if (!v.ok()) throw new AssertionError(v);
            System.out.printf(Locale.ROOT, "store %s: %d records, %.2f GB; open %.3f s; find %.2f us per key (%d random "
                    + "keys), %.2f us per key in record order (%d keys, key strings built in the loop; the same search "
                    + "over one ByteBuffer, as before the chunked view: %s); verify %.1f s (%.2f GB/s)%n",
                    big.getFileName(), s.size(), s.fileSize() / 1e9, open, find * 1e6 / lookups, lookups,
                    findInOrder * 1e6 / inOrder, inOrder, Double.isNaN(oneBuffer) ? "index above 2 GiB"
                    : String.format(Locale.ROOT, "%.2f us", oneBuffer * 1e6 / inOrder), verify,
                    s.fileSize() / 1e9 / verify);
        }
    }

    /**
     * The key search of the reader before issue 22 (one little-endian ByteBuffer over the index region, int offsets),
     * over the same file: an anchor for the chunked view's cost. Seconds for keys 0..n-1 in record order; NaN when
     * the index is above 2 GiB (which that reader could not read).
     */
    static double oneBufferFind(Path file, long count, long n) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            long at = h.getLong(72), size = h.getLong(80);
            if (size > Integer.MAX_VALUE) return Double.NaN;
            java.nio.ByteBuffer b = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, at, size)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int sortedAt = (int) (8 + 8 * count), blobAt = (int) (sortedAt + 4 * count);
            long t = System.nanoTime();
            for (long r = 0; r < n; ++r) {
                byte[] k = key(r).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                long lo = 0, hi = count - 1, found = -1;
                while (lo <= hi) {
                    long mid = (lo + hi) >>> 1;
                    long rec = b.getInt((int) (sortedAt + 4 * mid)) & 0xffffffffL;
                    int start = (int) (rec == 0 ? 0 : b.getLong((int) (8 + 8 * (rec - 1))));
                    int end = (int) b.getLong((int) (8 + 8 * rec));
                    int m = Math.min(end - start, k.length), c = 0;
                    for (int i = 0; i < m && c == 0; ++i) c = (b.get(blobAt + start + i) & 0xff) - (k[i] & 0xff);
                    if (c == 0) c = (end - start) - k.length;
                    if (c == 0) {
                        found = rec;
                        break;
                    }
                    if (c < 0) lo = mid + 1;
                    else hi = mid - 1;
                }
                if (found != r) throw new AssertionError(r);
            }
            return (System.nanoTime() - t) / 1e9;
        }
    }

    /** Bytes the RAM residency may take here: half of the memory available now (MemAvailable). */
    static long ramBudget() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo")))
            if (line.startsWith("MemAvailable:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024 / 2;
        return 0;
    }

    /** Prints a row when asked; returns the medians {first touch, hot} in ms per batch. */
    static double[] gatherPool(Path p, LabelMapStore.Residency how, int batches, boolean print, boolean prefetch)
            throws IOException {
        LabelPooling pooling = LabelPooling.builder(1000).softmax(true).outputSize(1).build();
        try (LabelMapStore s = LabelMapStore.open(p, how)) {
            SplittableRandom rnd = new SplittableRandom(how.ordinal() * 31L + p.hashCode() + (prefetch ? 7 : 0));
            List<NdArray> idx = new ArrayList<>();
            float[] bx = new float[1024 * 4];
            for (int i = 0; i < 1024; ++i) {
                bx[4 * i] = (float) rnd.nextDouble(0, 0.5);
                bx[4 * i + 1] = (float) rnd.nextDouble(0, 0.5);
                bx[4 * i + 2] = bx[4 * i] + 0.4f;
                bx[4 * i + 3] = bx[4 * i + 1] + 0.4f;
            }
            NdArray boxes = NdArray.of(bx, 1024, 4);
            for (int b = 0; b < batches; ++b) {
                long[] r = new long[1024];
                for (int i = 0; i < 1024; ++i) r[i] = rnd.nextLong(s.size());
                idx.add(NdArray.of(r));
            }
            // One output per row, written in full by every call: a fresh 4 MB direct buffer per call made the timings
            // depend on when the JVM reclaims direct memory (measured: +10 ms on every batch once it set in, on the
            // small store as on the big one), and that is not what this benchmark compares.
            NdArray out = NdArray.zeros(DType.FLOAT32, 1024, 1000);
            System.gc();
            long rss0 = status("VmRSS");
            double[] cold = new double[batches], hot = new double[batches];
            for (int b = 0; b < batches; ++b) cold[b] = once(pooling, s, idx.get(b), boxes, prefetch, out);
            long rss1 = status("VmRSS");
            for (int b = 0; b < batches; ++b) hot[b] = once(pooling, s, idx.get(b), boxes, prefetch, out);
            Arrays.sort(cold);
            Arrays.sort(hot);
            if (print) System.out.printf(Locale.ROOT, "| %s | %s | %d | %.2f (%.2f..%.2f) | %.1f MB | %.2f | %s |%n",
                    p.getFileName(), name(how, prefetch), s.size(), cold[batches / 2], cold[0], cold[batches - 1],
                    (rss1 - rss0) / 1e6 / batches, hot[batches / 2], s.residencyDescription());
            return new double[] {cold[batches / 2], hot[batches / 2]};
        }
    }

    static double once(LabelPooling pooling, LabelMapStore s, NdArray idx, NdArray boxes, boolean prefetch,
            NdArray out) {
        long t = System.nanoTime();
        if (prefetch) s.prefetch(idx.toLongArray());
        pooling.gather(s.records(), idx, boxes, null, out);
        double ms = (System.nanoTime() - t) / 1e6;
        if (out.numel() != 1024L * 1000) throw new AssertionError(out);
        return ms;
    }
}
