package org.relabel4j.data.transform;

import java.nio.ByteBuffer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Size;
import org.relabel4j.data.image.DecodedImage;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;

/**
 * Crops a region of a decoded (possibly reduced) RGB image, resizes it to size x size and writes float CHW in
 * [0, 1]. Downscaling averages over source pixels (OpenCV INTER_AREA, close to PIL's antialiased bilinear);
 * upscaling is bilinear (INTER_LINEAR). One instance per thread (it reuses its buffers).
 */
final class Resampler {
    private final Mat resized = new Mat();

    /**
     * Decodes {@code encoded} at the largest JPEG reduction (1/2, 1/4, 1/8) at which {@code box} still covers
     * size x size, and resamples the box into dst; returns the box the pixels show (snapped to reduced pixels).
     */
    CropBox crop(ImageDecoder decoder, byte[] encoded, String origin, Dims dims, CropBox box, int size, boolean flip,
            float[] dst, int offset) throws java.io.IOException {
        int reduction = ImageDecoder.reductionFor(box.width(), box.height(), size, size);
        try (DecodedImage image = decoder.decode(encoded, reduction, origin)) {
            checkSize(image, dims, origin);
            CropBox used = snap(image, box, dims.width(), dims.height());
            resample(image, used, size, flip, dst, offset);
            return used;
        }
    }

    /** The decoded image must be the header's size, reduced (ceil(size / reduction)). */
    static void checkSize(DecodedImage image, Dims dims, String origin) throws java.io.IOException {
        int r = image.reduction();
        if (image.width() != (dims.width() + r - 1) / r || image.height() != (dims.height() + r - 1) / r)
            throw new org.relabel4j.data.image.CorruptImageException(origin, "decoded " + image.width() + "x"
                    + image.height() + " at 1/" + r + ", the header says " + dims.width() + "x" + dims.height());
    }

    /**
     * The part of {@code image} covering [x, x + w) x [y, y + h) of the full image (reduction r = image.reduction()),
     * snapped to whole reduced pixels; returns the full-image crop actually used.
     */
    CropBox snap(DecodedImage image, CropBox crop, int fullWidth, int fullHeight) {
        int r = image.reduction();
        if (r == 1) return crop;
        int rx = (int) Math.floor((double) crop.x() / r + 0.5), ry = (int) Math.floor((double) crop.y() / r + 0.5);
        int rx2 = (int) Math.floor((double) (crop.x() + crop.width()) / r + 0.5);
        int ry2 = (int) Math.floor((double) (crop.y() + crop.height()) / r + 0.5);
        rx = Math.min(rx, image.width() - 1);
        ry = Math.min(ry, image.height() - 1);
        rx2 = Math.max(rx + 1, Math.min(rx2, image.width()));
        ry2 = Math.max(ry + 1, Math.min(ry2, image.height()));
        int x = rx * r, y = ry * r;
        return new CropBox(x, y, Math.min(rx2 * r, fullWidth) - x, Math.min(ry2 * r, fullHeight) - y, fullWidth, fullHeight);
    }

    /** Resizes the snapped crop of {@code image} into dst (CHW floats in [0, 1]), mirrored when flip. */
    void resample(DecodedImage image, CropBox snapped, int size, boolean flip, float[] dst, int offset) {
        int r = image.reduction();
        int rx = snapped.x() / r, ry = snapped.y() / r;
        int rw = Math.max(1, Math.min(image.width() - rx, (snapped.width() + r - 1) / r));
        int rh = Math.max(1, Math.min(image.height() - ry, (snapped.height() + r - 1) / r));
        try (Rect rect = new Rect(rx, ry, rw, rh); Mat roi = new Mat(image.mat(), rect); Size out = new Size(size, size)) {
            int interpolation = rw >= size && rh >= size ? opencv_imgproc.INTER_AREA : opencv_imgproc.INTER_LINEAR;
            opencv_imgproc.resize(roi, resized, out, 0, 0, interpolation);
        }
        if (flip) opencv_core.flip(resized, resized, 1);
        toPlanes(resized, size, dst, offset);
    }

    /** uint8 HWC RGB (continuous) to float CHW / 255. */
    static void toPlanes(Mat rgb, int size, float[] dst, int offset) {
        ByteBuffer b = rgb.createBuffer();
        int hw = size * size;
        final float scale = 1f / 255f;
        for (int i = 0, p = 0; i < hw; ++i, p += 3) {
            dst[offset + i] = (b.get(p) & 0xff) * scale;
            dst[offset + hw + i] = (b.get(p + 1) & 0xff) * scale;
            dst[offset + 2 * hw + i] = (b.get(p + 2) & 0xff) * scale;
        }
    }
}
