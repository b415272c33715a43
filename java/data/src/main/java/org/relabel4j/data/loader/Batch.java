package org.relabel4j.data.loader;

import java.util.List;
import java.util.function.Consumer;
import org.relabel4j.nd.NdArray;

/**
 * One batch of a {@link Loader} epoch. {@code images}: float32 {@code [B,3,S,S]} (normalized) or uint8
 * {@code [B,3,S,S]} (normalization left to the device); {@code boxes}: float32 {@code [B,4]} crop boxes
 * (x1, y1, x2, y2 normalized to the image); {@code flips}: uint8 {@code [B]}; {@code labels}: int64 {@code [B]};
 * {@code recordIndices}: int64 {@code [B]}, the label-map store record of each sample (-1 without a store or a
 * map); {@code targets}: float32 {@code [B,C]} LabelPooling targets when the loader pools on the CPU, else null;
 * {@code denseTargets}: float32 {@code [B,C,S,S]} LabelPooling targets when the loader also pools dense ones.
 * {@code B} may be smaller than the batch size for the last batch or when corrupt images were skipped. Closing a
 * batch recycles its image buffer.
 *
 * <p>Ownership and threads: the consumer that took the batch from {@link Loader.Epoch#next()} owns it and closes it
 * (once; closing again does nothing). After {@link #close()} every other method throws an IllegalStateException
 * naming the batch (its arrays may already hold a later batch). Read-only until closed; safe to read from several
 * threads.
 */
public final class Batch implements AutoCloseable {
    private final int epoch, index, skipped;
    private final List<String> keys;
    private final NdArray images, boxes, flips, labels, recordIndices, targets, denseTargets;
    private final long decodeNanos, labelNanos;
    private final Consumer<Batch> recycler;
    private volatile boolean closed;

    Batch(int epoch, int index, List<String> keys, NdArray images, NdArray boxes, NdArray flips, NdArray labels,
            NdArray recordIndices, NdArray targets, NdArray denseTargets, int skipped, long decodeNanos, long labelNanos,
            Consumer<Batch> recycler) {
        this.epoch = epoch;
        this.index = index;
        this.keys = keys;
        this.images = images;
        this.boxes = boxes;
        this.flips = flips;
        this.labels = labels;
        this.recordIndices = recordIndices;
        this.targets = targets;
        this.denseTargets = denseTargets;
        this.skipped = skipped;
        this.decodeNanos = decodeNanos;
        this.labelNanos = labelNanos;
        this.recycler = recycler;
    }

    /** Samples in this batch. */
    public int size() {
        check();
        return keys.size();
    }

    /** The epoch this batch belongs to. */
    public int epoch() {
        check();
        return epoch;
    }

    /** Its index within the epoch. */
    public int index() {
        check();
        return index;
    }

    /** The samples' keys, in batch order. */
    public List<String> keys() {
        check();
        return keys;
    }

    /** The pixels; valid until {@link #close()}. */
    public NdArray images() {
        check();
        return images;
    }

    /** Crop boxes float32 {@code [B,4]}: (x1, y1, x2, y2) normalized to each image. */
    public NdArray boxes() {
        check();
        return boxes;
    }

    /** Horizontal flips uint8 {@code [B]} (1 = flipped). */
    public NdArray flips() {
        check();
        return flips;
    }

    /** Labels int64 {@code [B]}. */
    public NdArray labels() {
        check();
        return labels;
    }

    /** Label-map store records int64 {@code [B]} (-1 without a store or a map). */
    public NdArray recordIndices() {
        check();
        return recordIndices;
    }

    /** LabelPooling targets, or null without a store; valid until {@link #close()}. */
    public NdArray targets() {
        check();
        return targets;
    }

    /**
     * The S x S LabelPooling targets {@code [B,C,S,S]} ({@code Loader.Builder.densePooling}), or null; valid until
     * {@link #close()}.
     */
    public NdArray denseTargets() {
        if (closed) throw new IllegalStateException("batch " + index + " is closed: its target buffer was recycled");
        return denseTargets;
    }

    /** Samples of this batch skipped as unreadable. */
    public int skipped() {
        check();
        return skipped;
    }

    /** CPU time spent decoding and transforming this batch's images. */
    public long decodeNanos() {
        check();
        return decodeNanos;
    }

    /** CPU time spent on this batch's label maps and LabelPooling targets. */
    public long labelNanos() {
        check();
        return labelNanos;
    }

    private void check() {
        if (closed)
            throw new IllegalStateException("batch " + index + " of epoch " + epoch + " is closed: its buffers were "
                    + "handed back to the loader for a later batch");
    }

    /**
     * Hands the image and target buffers back to the loader for a later batch (optional, but it spares allocating
     * and zeroing tens of megabytes of native memory per batch).
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            recycler.accept(this);
        }
    }
}
