package org.relabel4j.data.transform;

import java.io.IOException;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;

/**
 * Evaluation: resize the shorter side to {@code resize} (the longer side scaled likewise, truncated, as
 * torchvision's Resize) and center-crop {@code size} (torchvision's rounding), then normalize. Expressed as one crop
 * of the full image resampled to size x size, so the JPEG can be decoded reduced when it is large. Differences from
 * torchvision + PIL: OpenCV's area/bilinear resampling instead of PIL's antialiased bilinear filter (pixel values
 * differ by a few levels; the crop geometry is identical up to reduced-decode snapping).
 */
public final class EvalTransform implements SampleTransform {
    private final int size, resize;
    private final Normalization normalization;
    private final ImageDecoder decoder = new ImageDecoder();
    private final ThreadLocal<Resampler> resamplers = ThreadLocal.withInitial(Resampler::new);

    /** Resize the shorter side to {@code resize}, center-crop {@code size}, normalize. */
    public EvalTransform(int size, int resize, Normalization normalization) {
        if (size < 1 || resize < size)
            throw new IllegalArgumentException("need 1 <= size <= resize, got size " + size + ", resize " + resize);
        this.size = size;
        this.resize = resize;
        this.normalization = normalization;
    }

    /** ImageNet evaluation: shorter side to size / 0.875 (256 for 224), center crop, ImageNet normalization. */
    public static EvalTransform imagenet(int size) {
        return new EvalTransform(size, (int) Math.floor(size / 0.875), Normalization.IMAGENET);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean normalizes() {
        return normalization != null;
    }

    /** The full-image crop that resize(shorter -> resize) + center-crop(size) shows. */
    public CropBox crop(int width, int height) {
        int rw, rh;
        if (width <= height) {
            rw = resize;
            rh = (int) ((long) resize * height / width);
        } else {
            rh = resize;
            rw = (int) ((long) resize * width / height);
        }
        int top = (int) Math.rint((rh - size) / 2.0), left = (int) Math.rint((rw - size) / 2.0);
        double sx = (double) width / rw, sy = (double) height / rh;
        int x = (int) Math.rint(left * sx), y = (int) Math.rint(top * sy);
        int w = Math.max(1, Math.min(width - x, (int) Math.rint(size * sx)));
        int h = Math.max(1, Math.min(height - y, (int) Math.rint(size * sy)));
        return new CropBox(x, y, w, h, width, height);
    }

    @Override
    public Augmented apply(byte[] encoded, String origin, SampleRandom random, float[] dst, int offset) throws IOException {
        Dims dims = decoder.probe(encoded, origin);
        CropBox box = crop(dims.width(), dims.height());
        CropBox used = resamplers.get().crop(decoder, encoded, origin, dims, box, size, false, dst, offset);
        if (normalization != null) normalization.apply(dst, offset, size * size);
        return new Augmented(used, false);
    }
}
