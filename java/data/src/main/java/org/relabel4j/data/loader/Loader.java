package org.relabel4j.data.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Sample;
import org.relabel4j.data.transform.CropBox;
import org.relabel4j.data.transform.SampleRandom;
import org.relabel4j.data.transform.SampleTransform;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;

/**
 * The training/evaluation loader: worker threads decode and transform whole batches ahead of the consumer, in a
 * bounded window of {@code prefetch} batches (memory: prefetch x batch bytes, e.g. 4 x 154 MB for 256 float
 * images of 224 x 224, a quarter of that for uint8), and attach each batch's LabelPooling targets from a label-map
 * store (pooled in place by the native op on the CPU).
 *
 * <p>Determinism: the epoch's order is a permutation fixed by (seed, epoch) and every random choice of sample i's
 * augmentation by (seed, epoch, i), so the same seed gives the same crops whatever the number of workers; ranks
 * take every world-th sample of the epoch's order, so the ranks together cover each sample exactly once per epoch.
 * With {@code dropLast} every rank makes the same number of batches, {@code (size / world) / batchSize} (the ranks
 * step in lockstep in data-parallel training; the few samples past that are dropped, as the last partial batch is).
 *
 * <p>Corrupt or unreadable images are skipped, counted and reported with their origin (the batch is one sample
 * smaller), or fail the epoch with {@code strict}. A sample without a label map is an error when the loader is
 * built, unless missing maps are allowed: such a sample's target is its one-hot label.
 *
 * <p>Threads and ownership: one consumer thread iterates an {@link Epoch} (the workers are the loader's own); the
 * other methods may be called from any thread. The caller owns the loader and closes it, then the label-map store
 * it reads (close waits for the workers). After {@link #close()} every method (and every method of its epochs)
 * throws an IllegalStateException naming the loader; batches already taken stay readable until they are closed.
 */
public final class Loader implements AutoCloseable {
    /** Pixel type of the batches. */
    public enum Pixels {
        /** float32, as the transform leaves them (normalized when it normalizes). */
        FLOAT32,
        /** uint8 0..255 (the transform must not normalize; normalize on the device). */
        UINT8
    }

    private final Dataset dataset;
    private final SampleTransform transform;
    private final int batchSize, workers, prefetch, rank, world;
    private final long seed;
    private final boolean shuffle, dropLast, strict;
    private final Pixels pixels;
    private final LabelMapStore store;
    private final LabelPooling pooling;
    /** S x S targets pooled next to the global ones (null: none). */
    private final LabelPooling densePooling;
    private final int[] recordOf;  // per dataset sample: store record, or -1
    private final Consumer<String> log;
    private final ExecutorService pool;
    private volatile boolean closed;
    private final AtomicLong skipped = new AtomicLong(), decoded = new AtomicLong();
    private final AtomicLong decodeNanos = new AtomicLong(), labelNanos = new AtomicLong();
    private final java.util.concurrent.ConcurrentLinkedQueue<Buffers> freeBuffers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);

    private Loader(Builder b) {
        this.dataset = b.dataset;
        this.transform = b.transform;
        this.batchSize = b.batchSize;
        this.workers = b.workers;
        this.prefetch = b.prefetch > 0 ? b.prefetch : 2 * b.workers;
        this.rank = b.rank;
        this.world = b.world;
        this.seed = b.seed;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.strict = b.strict;
        this.pixels = b.pixels;
        this.store = b.store;
        this.pooling = b.pooling;
        this.densePooling = b.densePooling;
        this.log = b.log;
        this.recordOf = store == null ? null : alignLabelMaps(dataset, store, b.allowMissingLabelMaps);
        if (store != null && pooling != null)
            b.info.accept("label maps " + store.path().getFileName() + ": " + store.residencyDescription()
                    + (store.residency() == LabelMapStore.Residency.RAM ? "" : "; each batch's records prefetched "
                    + "(madvise WILLNEED) before its images decode"));
        if (pooling != null && store != null && pooling.classes() != store.format().classes())
            throw new IllegalArgumentException("the LabelPooling has " + pooling.classes() + " classes but the store "
                    + store.path() + " holds " + store.format().classes());
        if (densePooling != null && (store == null || densePooling.classes() != store.format().classes()))
            throw new IllegalArgumentException(store == null ? "dense targets need label maps (labelMaps(store, ...))"
                    : "the dense LabelPooling has " + densePooling.classes() + " classes but the store " + store.path()
                    + " holds " + store.format().classes());
        if (pooling != null && dataset.classes().size() > pooling.classes())
            throw new IllegalArgumentException("the dataset has " + dataset.classes().size() + " classes but the "
                    + "LabelPooling only " + pooling.classes());
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "relabel-loader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A loader builder over {@code dataset} with {@code transform}. */
    public static Builder builder(Dataset dataset, SampleTransform transform) {
        return new Builder(dataset, transform);
    }

    /** Store record of every dataset sample (-1: none); fails on missing maps unless allowed. */
    static int[] alignLabelMaps(Dataset dataset, LabelMapStore store, boolean allowMissing) {
        int[] rec = new int[dataset.size()];
        List<String> missing = new ArrayList<>();
        int missingCount = 0;
        for (int i = 0; i < rec.length; ++i) {
            long r = store.find(dataset.sample(i).key());
            rec[i] = (int) r;
            if (r < 0) {
                ++missingCount;
                if (missing.size() < 5) missing.add(dataset.sample(i).key());
            }
        }
        if (missingCount > 0 && !allowMissing)
            throw new IllegalArgumentException(store.path() + ": " + missingCount + " of " + rec.length
                    + " samples have no label map (e.g. " + String.join(", ", missing)
                    + "); check the dataset/store pairing or allow missing label maps");
        return rec;
    }

    /** The dataset this loader reads. */
    public Dataset dataset() {
        live();
        return dataset;
    }

    /** Samples per batch. */
    public int batchSize() {
        live();
        return batchSize;
    }

    /** This rank's samples of {@code epoch}, in order: dataset indices. */
    public int[] order(int epoch) {
        live();
        int n = dataset.size();
        int[] all;
        if (shuffle) {
            all = SampleRandom.of(seed, epoch, -1).permutation(n);
        } else {
            all = new int[n];
            for (int i = 0; i < n; ++i) all[i] = i;
        }
        int[] mine = new int[(n - rank + world - 1) / world];
        for (int i = rank, j = 0; i < n; i += world, ++j) mine[j] = all[i];
        return mine;
    }

    /** The number of batches of each epoch on this rank. */
    public int batchesPerEpoch() {
        live();
        if (dropLast) return dataset.size() / world / batchSize;  // the same on every rank
        int n = (dataset.size() - rank + world - 1) / world;
        return (n + batchSize - 1) / batchSize;
    }

    /** Counters since the loader was built. */
    public Stats stats() {
        live();
        return new Stats(decoded.get(), skipped.get(), decodeNanos.get(), labelNanos.get());
    }

    /** Images decoded, images skipped as corrupt, and the CPU time spent decoding/transforming and on label maps. */
    public record Stats(long decoded, long skipped, long decodeNanos, long labelNanos) {
        /** The share of loader time spent on label maps and LabelPooling. */
        public double labelShare() {
            long total = decodeNanos + labelNanos;
            return total == 0 ? 0 : (double) labelNanos / total;
        }
    }

    /** The batches of {@code epoch}; close it to drop the batches still in flight. */
    public Epoch epoch(int epoch) {
        live();
        return new Epoch(epoch, 0);
    }

    /**
     * The batches of {@code epoch} from batch {@code first} on (a resumed run's loader position): the same batches,
     * with the same augmentations, as the uninterrupted epoch's from that index.
     */
    public Epoch epoch(int epoch, int first) {
        live();
        if (first < 0 || first > batchesPerEpoch())
            throw new IllegalArgumentException("batch " + first + " is outside the epoch's " + batchesPerEpoch() + " batches");
        return new Epoch(epoch, first);
    }

    /** One epoch's batches, produced by the workers at most {@code prefetch} ahead. */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final int batches;
        private final Deque<Future<Batch>> window = new ArrayDeque<>();
        private int submitted, consumed;
        private volatile boolean closed;

        private Epoch(int epoch, int first) {
            this.epoch = epoch;
            this.order = order(epoch);
            this.batches = batchesPerEpoch();
            this.submitted = first;
            this.consumed = first;
            fill();
        }

        private void fill() {
            while (submitted < batches && window.size() < prefetch) {
                final int b = submitted++;
                window.add(pool.submit(() -> assemble(epoch, b, order)));
            }
        }

        private void check() {
            if (closed) throw new IllegalStateException("epoch " + epoch + " of " + name() + " is closed");
            live();
        }

        /** Whether a batch is left; an IllegalStateException after this epoch or its loader was closed. */
        @Override
        public boolean hasNext() {
            check();
            return consumed < batches;
        }

        /**
         * The next batch, in order (waits for the workers); the caller owns it and closes it. An
         * IllegalStateException after this epoch or its loader was closed.
         */
        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException();
            Future<Batch> f = window.poll();
            ++consumed;
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for batch " + (consumed - 1), e);
            } catch (ExecutionException e) {
                close();
                Throwable c = e.getCause();
                if (c instanceof IOException io) throw new UncheckedIOException(io);
                if (c instanceof RuntimeException re) throw re;
                throw new IllegalStateException(c);
            } finally {
                fill();
            }
        }

        /** Drops the batches still in flight; idempotent. Afterwards the other methods throw IllegalStateException. */
        @Override
        public synchronized void close() {
            closed = true;
            for (Future<Batch> f : window) f.cancel(true);
            window.clear();
            submitted = batches;
        }
    }

    /** Decodes, transforms and labels batch {@code b} of an epoch. */
    private Batch assemble(int epoch, int b, int[] order) throws IOException {
        int from = b * batchSize, to = Math.min(order.length, from + batchSize);
        int s = transform.size(), plane = 3 * s * s;
        float[] pixel = scratch.get();
        if (pixel.length != plane) scratch.set(pixel = new float[plane]);
        Buffers full = takeBuffers();
        NdArray images = full.images();
        FloatBuffer asFloats = pixels == Pixels.FLOAT32 ? images.buffer().asFloatBuffer() : null;
        java.nio.ByteBuffer asBytes = pixels == Pixels.UINT8 ? images.buffer() : null;
        float[] boxes = new float[(to - from) * 4];
        boolean[] flips = new boolean[to - from];
        long[] labels = new long[to - from], records = new long[to - from];
        List<String> keys = new ArrayList<>(to - from);
        int n = 0, skippedHere = 0;
        if (recordOf != null && pooling != null) {  // (a no-op for a store held in RAM)
            long[] ahead = new long[to - from];  // their pages load while the images decode
            for (int k = from; k < to; ++k) ahead[k - from] = recordOf[order[k]];
            store.prefetch(ahead);
        }
        long t0 = System.nanoTime();
        for (int k = from; k < to; ++k) {
            int index = order[k];
            Sample sample = dataset.sample(index);
            SampleTransform.Augmented a;
            try {
                byte[] bytes = dataset.read(index);
                a = transform.apply(bytes, sample.origin(), SampleRandom.of(seed, epoch, index), pixel, 0);
            } catch (IOException e) {
                if (strict) {
                    recycle(full);
                    throw e;
                }
                ++skippedHere;
                skipped.incrementAndGet();
                log.accept("skipped unreadable image " + sample.origin() + ": " + e.getMessage());
                continue;
            }
            putPixels(pixel, n * plane, asFloats, asBytes);
            CropBox c = a.crop();
            System.arraycopy(c.normalized(), 0, boxes, 4 * n, 4);
            flips[n] = a.flipped();
            labels[n] = sample.label();
            records[n] = recordOf == null ? -1 : recordOf[index];
            keys.add(sample.key());
            ++n;
        }
        decoded.addAndGet(n);
        long t1 = System.nanoTime();
        decodeNanos.addAndGet(t1 - t0);
        if (n < batchSize) images = images.view(n);
        NdArray boxArray = NdArray.of(Arrays.copyOf(boxes, 4 * n), n, 4);
        NdArray flipArray = NdArray.of(Arrays.copyOf(flips, n));
        NdArray labelArray = NdArray.of(Arrays.copyOf(labels, n));
        NdArray recordArray = NdArray.of(Arrays.copyOf(records, n));
        NdArray targets = null, denseTargets = null;
        long t2 = System.nanoTime();
        if (store != null && (pooling != null || densePooling != null) && n > 0) {
            try {
                if (pooling != null)
                    targets = targets(pooling, recordArray, labelArray, boxArray, flipArray, full.targets().view(n));
                if (densePooling != null)
                    denseTargets = targets(densePooling, recordArray, labelArray, boxArray, flipArray,
                            full.denseTargets().view(n));
            } catch (IllegalArgumentException e) {  // the native check of a record's class ids: name the store
                recycle(full);
                throw badRecord(e, recordArray, keys);
            }
        }
        long t3 = System.nanoTime();
        labelNanos.addAndGet(t3 - t2);
        return new Batch(epoch, b, keys, images, boxArray, flipArray, labelArray, recordArray, targets, denseTargets,
                skippedHere, t1 - t0, t3 - t2, ignored -> recycle(full));
    }

    /** One transformed image ({@code pixel}, CHW float in [0, 1] or normalized) into the batch at {@code offset}. */
    private static void putPixels(float[] pixel, int offset, FloatBuffer asFloats, java.nio.ByteBuffer asBytes) {
        if (asFloats != null) {
            asFloats.put(offset, pixel, 0, pixel.length);
            return;
        }
        for (int i = 0; i < pixel.length; ++i) {
            float v = pixel[i] * 255f + 0.5f;
            asBytes.put(offset + i, (byte) (v <= 0 ? 0 : v >= 255 ? 255 : (int) v));
        }
    }

    /**
     * The native op's complaint about a record's class ids, naming the store and, where the op's map index is the
     * batch's sample index (every sample has a record), the sample's key and record.
     */
    private IllegalArgumentException badRecord(IllegalArgumentException e, NdArray recordArray, List<String> keys) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("of map (\\d+) ").matcher(e.getMessage());
        int i = m.find() ? Integer.parseInt(m.group(1)) : -1;
        for (int j = 0; j < keys.size(); ++j) if (recordArray.getLong(j) < 0) i = -1;  // then map i is not sample i
        return new IllegalArgumentException(store.path() + ": " + e.getMessage() + (i >= 0 && i < keys.size()
                ? " (map " + i + ": key '" + keys.get(i) + "', record " + recordArray.getLong(i) + ")" : "")
                + "; `relabel inspect --verify` checks every record", e);
    }

    /** The native buffers of one batch, recycled when the consumer closes the batch. */
    private record Buffers(NdArray images, NdArray targets, NdArray denseTargets) {}

    /** Buffers for a whole batch: ones a closed batch handed back, else new ones. */
    private Buffers takeBuffers() {
        Buffers reused = freeBuffers.poll();
        if (reused != null) return reused;
        int s = transform.size();
        NdArray images = NdArray.zeros(pixels == Pixels.FLOAT32 ? DType.FLOAT32 : DType.UINT8, batchSize, 3, s, s);
        NdArray targets = store != null && pooling != null ? NdArray.zeros(DType.FLOAT32, pooling.outputShape(batchSize)) : null;
        NdArray dense = store != null && densePooling != null
                ? NdArray.zeros(DType.FLOAT32, densePooling.outputShape(batchSize)) : null;
        return new Buffers(images, targets, dense);
    }

    private void recycle(Buffers full) {
        if (freeBuffers.size() < prefetch + 2) freeBuffers.offer(full);  // the rest go to the garbage collector
    }

    /** LabelPooling targets pooled in place from the store into out; samples without a map get their one-hot label. */
    private NdArray targets(LabelPooling pooling, NdArray records, NdArray labels, NdArray boxes, NdArray flips,
            NdArray out) {
        int n = (int) records.numel();
        boolean allPresent = true;
        for (int i = 0; i < n; ++i) allPresent &= records.getLong(i) >= 0;
        if (allPresent) {
            pooling.gather(store.records(), records, boxes, flips, out);
            return out;
        }
        // Pool the samples that have maps, one-hot for the others.
        long per = out.numel() / n;
        for (long e = 0; e < out.numel(); ++e) out.setFloat(e, 0f);
        long[] have = new long[n];
        int m = 0;
        for (int i = 0; i < n; ++i) if (records.getLong(i) >= 0) have[m++] = i;
        if (m > 0) {
            long[] recs = new long[m];
            float[] bx = new float[4 * m];
            boolean[] fl = new boolean[m];
            for (int j = 0; j < m; ++j) {
                int i = (int) have[j];
                recs[j] = records.getLong(i);
                for (int c = 0; c < 4; ++c) bx[4 * j + c] = boxes.getFloat(4L * i + c);
                fl[j] = flips.getLong(i) != 0;
            }
            NdArray pooled = pooling.gather(store.records(), NdArray.of(recs), NdArray.of(bx, m, 4), NdArray.of(fl));
            for (int j = 0; j < m; ++j) {
                int i = (int) have[j];
                for (long e = 0; e < per; ++e) out.setFloat(i * per + e, pooled.getFloat(j * per + e));
            }
        }
        int positions = (int) (per / pooling.classes());
        for (int i = 0; i < n; ++i) {
            if (records.getLong(i) >= 0) continue;
            long label = labels.getLong(i);
            for (int p = 0; p < positions; ++p) out.setFloat(i * per + label * positions + p, 1f);
        }
        return out;
    }

    /**
     * Stops the workers and waits for the batches they are assembling (up to a minute): a worker may be reading the
     * label-map store, which the caller closes (unmaps) next.
     */
    @Override
    public void close() {
        closed = true;
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS))
                log.accept("loader workers still running 60 s after close");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void live() {
        if (closed) throw new IllegalStateException(name() + " is closed");
    }

    private String name() {
        return "the loader (" + dataset.size() + " samples, batch size " + batchSize + ")";
    }

    /** Loader options. */
    public static final class Builder {
        private final Dataset dataset;
        private final SampleTransform transform;
        private int batchSize = 256, workers = Math.max(1, Runtime.getRuntime().availableProcessors()), prefetch;
        private int rank = 0, world = 1;
        private long seed = 0;
        private boolean shuffle = true, dropLast = false, strict = false, allowMissingLabelMaps = false;
        private Pixels pixels = Pixels.FLOAT32;
        private LabelMapStore store;
        private LabelPooling pooling, densePooling;
        private Consumer<String> log = m -> System.getLogger("org.relabel4j.data").log(System.Logger.Level.WARNING, m);
        private Consumer<String> info = m -> System.getLogger("org.relabel4j.data").log(System.Logger.Level.INFO, m);

        private Builder(Dataset dataset, SampleTransform transform) {
            this.dataset = Objects.requireNonNull(dataset, "dataset");
            this.transform = Objects.requireNonNull(transform, "transform");
        }

        /** Samples per batch (default 256). */
        public Builder batchSize(int n) {
            if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
            this.batchSize = n;
            return this;
        }

        /** Worker threads decoding and transforming batches (default: the available processors). */
        public Builder workers(int n) {
            if (n < 1) throw new IllegalArgumentException("workers must be >= 1, got " + n);
            this.workers = n;
            return this;
        }

        /** Batches in flight (default 2 x workers): bounds the loader's memory. */
        public Builder prefetch(int n) {
            if (n < 1) throw new IllegalArgumentException("prefetch must be >= 1, got " + n);
            this.prefetch = n;
            return this;
        }

        /** The seed fixing the order and every augmentation (default 0). */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Whether each epoch visits the samples in a (seed, epoch) permutation (default true). */
        public Builder shuffle(boolean on) {
            this.shuffle = on;
            return this;
        }

        /** Whether the last partial batch is dropped (default false; every rank then makes as many batches). */
        public Builder dropLast(boolean on) {
            this.dropLast = on;
            return this;
        }

        /**
         * Data-parallel sharding: this process is {@code rank} of {@code world} and takes every world-th sample of
         * each epoch's order, starting at {@code rank}.
         */
        public Builder shard(int rank, int world) {
            if (world < 1 || rank < 0 || rank >= world)
                throw new IllegalArgumentException("need 0 <= rank < world, got rank " + rank + " of " + world);
            this.rank = rank;
            this.world = world;
            return this;
        }

        /** Fail the epoch on the first unreadable image instead of skipping it. */
        public Builder strict(boolean on) {
            this.strict = on;
            return this;
        }

        /** Normalized float32 images (default) or uint8 ones (normalization left to the device). */
        public Builder pixels(Pixels p) {
            this.pixels = Objects.requireNonNull(p, "pixels");
            return this;
        }

        /** Attach LabelPooling targets from {@code store} (pooling may be null: record indices only). */
        public Builder labelMaps(LabelMapStore store, LabelPooling pooling, boolean allowMissing) {
            this.store = Objects.requireNonNull(store, "store");
            this.pooling = pooling;
            this.allowMissingLabelMaps = allowMissing;
            return this;
        }

        /**
         * Also pool every crop's dense {@code [B,C,S,S]} target with {@code dense} (its output size S > 1) from the
         * store of {@link #labelMaps} ({@link Batch#denseTargets()}; a sample without a map gets its one-hot label
         * in every cell): the S x S LabelPooling targets of dense (token) supervision. Null: none.
         */
        public Builder densePooling(LabelPooling dense) {
            this.densePooling = dense;
            return this;
        }

        /** Where the loader reports its settings (label-map residency); default: the JDK logger at INFO. */
        public Builder info(Consumer<String> sink) {
            this.info = Objects.requireNonNull(sink, "info");
            return this;
        }

        /** Where skipped images are reported (default: the "org.relabel4j.data" System.Logger). */
        public Builder log(Consumer<String> sink) {
            this.log = Objects.requireNonNull(sink, "log");
            return this;
        }

        /** The loader; its workers start with the first epoch. The caller closes it. */
        public Loader build() {
            if (pixels == Pixels.UINT8 && transform.normalizes())
                throw new IllegalArgumentException("uint8 batches need a transform without normalization (normalize on "
                        + "the device)");
            return new Loader(this);
        }
    }
}
