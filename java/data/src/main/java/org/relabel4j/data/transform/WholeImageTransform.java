package org.relabel4j.data.transform;

import java.io.IOException;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;

/**
 * Annotation input, as ReLabel's released label maps were made: the whole image resized to size x size (aspect ratio
 * not kept, no crop), then normalized. Large JPEGs are decoded reduced (1/2, 1/4, 1/8) when the reduced image still
 * covers size x size; downscaling averages source pixels (OpenCV INTER_AREA), upscaling is bilinear. The crop box
 * is always the whole image.
 */
public final class WholeImageTransform implements SampleTransform {
    private final int size;
    private final Normalization normalization;
    private final ImageDecoder decoder = new ImageDecoder();
    private final ThreadLocal<Resampler> resamplers = ThreadLocal.withInitial(Resampler::new);

    /** {@code normalization} null: RGB in [0, 1]. */
    public WholeImageTransform(int size, Normalization normalization) {
        if (size < 1) throw new IllegalArgumentException("size must be >= 1, got " + size);
        this.size = size;
        this.normalization = normalization;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean normalizes() {
        return normalization != null;
    }

    @Override
    public Augmented apply(byte[] encoded, String origin, SampleRandom random, float[] dst, int offset) throws IOException {
        Dims dims = decoder.probe(encoded, origin);
        CropBox whole = new CropBox(0, 0, dims.width(), dims.height(), dims.width(), dims.height());
        CropBox used = resamplers.get().crop(decoder, encoded, origin, dims, whole, size, false, dst, offset);
        if (normalization != null) normalization.apply(dst, offset, size * size);
        return new Augmented(used, false);
    }
}
