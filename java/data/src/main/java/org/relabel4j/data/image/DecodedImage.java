package org.relabel4j.data.image;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * A decoded image: an owned OpenCV {@link Mat} of 8-bit unsigned, 3 channels in <b>RGB</b> order (not OpenCV's
 * usual BGR), {@code height} rows of {@code width} interleaved pixels ({@code CV_8UC3}). {@link #close} frees the
 * native memory; the Mat must not be used after it. Not thread-safe (one owner at a time).
 */
public final class DecodedImage implements AutoCloseable {
    private final Mat mat;
    private final int reduction;
    private final ImageFormat format;
    private boolean closed;

    DecodedImage(Mat mat, int reduction, ImageFormat format) {
        this.mat = mat;
        this.reduction = reduction;
        this.format = format;
    }

    /** Width in pixels (of the reduced image). */
    public int width() {
        return mat().cols();
    }

    /** Height in pixels (of the reduced image). */
    public int height() {
        return mat().rows();
    }

    /**
     * The scale the image was decoded at: 1, 2, 4 or 8, the full size being about {@code reduction} times this one
     * ({@code width = ceil(fullWidth / reduction)}); 1 for formats without reduced decoding.
     */
    public int reduction() {
        return reduction;
    }

    public ImageFormat format() {
        return format;
    }

    /** The pixels: {@code CV_8UC3}, RGB order. Owned by this object: valid until {@link #close}; do not close it. */
    public Mat mat() {
        if (closed) throw new IllegalStateException("image closed");
        return mat;
    }

    /** A copy of the pixels as packed RGB bytes, row-major: {@code (y * width + x) * 3 + channel}. */
    public byte[] toRgbBytes() {
        Mat m = mat();
        int w = m.cols(), h = m.rows(), row = w * 3;
        byte[] out = new byte[Math.multiplyExact(row, h)];
        for (int y = 0; y < h; y++) {
            BytePointer p = m.ptr(y);
            p.get(out, y * row, row);
        }
        return out;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            mat.close();
        }
    }
}
