package org.relabel4j.data.loader;

import java.util.List;
import org.relabel4j.nd.NdArray;

/**
 * One batch of a {@link Loader} epoch. {@code images}: float32 {@code [B,3,S,S]} (normalized) or uint8
 * {@code [B,3,S,S]} (normalization left to the device); {@code boxes}: float32 {@code [B,4]} crop boxes
 * (x1, y1, x2, y2 normalized to the image); {@code flips}: uint8 {@code [B]}; {@code labels}: int64 {@code [B]};
 * {@code recordIndices}: int64 {@code [B]}, the label-map store record of each sample (-1 without a store or a
 * map); {@code targets}: float32 {@code [B,C]} LabelPooling targets when the loader pools on the CPU, else null.
 * {@code B} may be smaller than the batch size for the last batch or when corrupt images were skipped.
 */
public record Batch(int epoch, int index, List<String> keys, NdArray images, NdArray boxes, NdArray flips, NdArray labels,
        NdArray recordIndices, NdArray targets, int skipped, long decodeNanos, long labelNanos) {
    /** Samples in this batch. */
    public int size() {
        return keys.size();
    }
}
