package org.relabel4j.data.transform;

import java.io.IOException;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;

/**
 * The training transform of ReLabel's recipe: RandomResizedCrop (torchvision's parameters) to size x size,
 * horizontal flip (p = 0.5), ColorJitter, PCA lighting and normalization, any of the last three optional. The
 * crop is sampled on the full image size read from the header, then the image is decoded at the largest JPEG
 * reduction (1/2, 1/4, 1/8) at which the crop still covers the output size, which saves most of the decode time
 * for small crops; the returned crop box is the one the pixels show (snapped to whole reduced pixels).
 */
public final class TrainTransform implements SampleTransform {
    private final int size;
    private final RandomResizedCrop crop;
    private final boolean hflip;
    private final ColorJitter jitter;
    private final Lighting lighting;
    private final Normalization normalization;
    private final ImageDecoder decoder = new ImageDecoder();
    private final ThreadLocal<Resampler> resamplers = ThreadLocal.withInitial(Resampler::new);

    /**
     * The training transform: {@code crop} resized to {@code size}, a horizontal flip with probability 1/2 when
     * {@code hflip}, then {@code jitter} and {@code lighting} (each may be null) and the normalization.
     */
    public TrainTransform(int size, RandomResizedCrop crop, boolean hflip, ColorJitter jitter, Lighting lighting,
            Normalization normalization) {
        if (size < 1) throw new IllegalArgumentException("size must be >= 1, got " + size);
        this.size = size;
        this.crop = java.util.Objects.requireNonNull(crop, "crop");
        this.hflip = hflip;
        this.jitter = jitter;
        this.lighting = lighting;
        this.normalization = normalization;
    }

    /** ReLabel's ImageNet recipe: RRC 224, flip, ColorJitter(0.4, 0.4, 0.4), lighting 0.1, ImageNet normalization. */
    public static TrainTransform imagenet(int size) {
        return new TrainTransform(size, RandomResizedCrop.imagenet(), true, new ColorJitter(0.4f, 0.4f, 0.4f),
                Lighting.imagenet(0.1f), Normalization.IMAGENET);
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
        CropBox box = crop.sample(dims.width(), dims.height(), random);
        boolean flip = hflip && random.nextBoolean();
        CropBox used = resamplers.get().crop(decoder, encoded, origin, dims, box, size, flip, dst, offset);
        int hw = size * size;
        if (jitter != null) jitter.apply(dst, offset, hw, random);
        if (lighting != null) lighting.apply(dst, offset, hw, random);
        if (normalization != null) normalization.apply(dst, offset, hw);
        return new Augmented(used, flip);
    }
}
