package org.relabel4j.data.transform;

import java.io.IOException;

/**
 * Turns one encoded image into a fixed-size RGB image and the crop it shows: training (random resized crop, flip,
 * color jitter, lighting) or evaluation (resize + center crop). Implementations are immutable and thread-safe;
 * every random choice comes from the given {@link SampleRandom}.
 */
public interface SampleTransform {
    /** Output side (the image is size x size). */
    int size();

    /** True when the output is normalized (mean/std); false: RGB in [0, 1]. */
    boolean normalizes();

    /**
     * Decodes and transforms {@code encoded}; writes 3 x size x size floats (RGB planes, CHW) into
     * {@code dst[offset..]}: values in [0, 1] after jitter and lighting, then normalized when the transform has a
     * normalization. Returns the crop box (in full-image pixels) and the flip.
     */
    Augmented apply(byte[] encoded, String origin, SampleRandom random, float[] dst, int offset) throws IOException;

    /** What a transform did to one sample. */
    record Augmented(CropBox crop, boolean flipped) {}
}
