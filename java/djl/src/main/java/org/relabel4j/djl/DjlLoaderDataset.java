package org.relabel4j.djl;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.Batchifier;
import ai.djl.util.Progress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicInteger;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.nd.NdArray;

/**
 * A {@link Loader} (with its label-map store and LabelPooling targets) as a DJL {@link Dataset}: each call of
 * {@link #getData} iterates the next epoch (0, 1, ...) of the loader, as DJL's trainer calls it once per epoch. A
 * DJL batch holds {@code data = [images]} ({@code [B,3,S,S]} float32 or uint8) and {@code labels = [targets,
 * boxes]} (LabelPooling targets {@code [B,C]} or {@code [B,C,S,S]}, the crop boxes {@code [B,4]}; a loader built
 * without a store gives {@code [labels]} instead, int64 {@code [B]}).
 *
 * <p>Ownership: the caller owns the loader (and closes it, then its store). Each DJL batch's arrays are copies made
 * by the batch's own sub-manager of the given manager (closing the DJL batch frees them); the loader's batch is
 * closed at once, so its buffers are recycled. One iteration at a time, from one thread.
 */
public final class DjlLoaderDataset implements Dataset {
    private final Loader loader;
    private final AtomicInteger nextEpoch;

    /** The loader's epochs from {@code firstEpoch} on. */
    public DjlLoaderDataset(Loader loader, int firstEpoch) {
        if (loader == null) throw new IllegalArgumentException("loader must not be null");
        if (firstEpoch < 0) throw new IllegalArgumentException("firstEpoch must be >= 0, got " + firstEpoch);
        this.loader = loader;
        this.nextEpoch = new AtomicInteger(firstEpoch);
    }

    /** The epoch the next {@link #getData} call iterates. */
    public int nextEpoch() {
        return nextEpoch.get();
    }

    /** Nothing to prepare: the loader reads its dataset and store as it goes. */
    @Override
    public void prepare(Progress progress) {
        // the loader is ready when built
    }

    /** The next epoch's batches, made by sub-managers of {@code manager}. */
    @Override
    public Iterable<Batch> getData(NDManager manager) {
        int epoch = nextEpoch.getAndIncrement();
        return () -> new Iterator<>() {
            final Loader.Epoch it = loader.epoch(epoch);
            final int total = loader.batchesPerEpoch();
            int done;

            @Override
            public boolean hasNext() {
                boolean more = it.hasNext();
                if (!more) it.close();
                return more;
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                try (org.relabel4j.data.loader.Batch b = it.next()) {
                    NDManager sub = manager.newSubManager();
                    NDList data = new NDList(copy(b.images(), sub));
                    NDList labels = b.targets() != null ? new NDList(copy(b.targets(), sub), copy(b.boxes(), sub))
                            : new NDList(copy(b.labels(), sub));
                    return new Batch(sub, data, labels, b.size(), Batchifier.STACK, Batchifier.STACK, ++done, total);
                }
            }
        };
    }

    /** A copy of the first {@code B} rows of {@code a} (a loader array may be longer than its batch) in {@code m}. */
    static ai.djl.ndarray.NDArray copy(NdArray a, NDManager m) {
        ByteBuffer src = a.buffer().duplicate();
        src.limit((int) a.nbytes());
        ByteBuffer dst = m.allocateDirect((int) a.nbytes()).order(ByteOrder.LITTLE_ENDIAN);
        dst.put(src).flip();
        return m.create(dst, new Shape(a.shape()), DjlArrays.dataType(a.dtype()));
    }
}
