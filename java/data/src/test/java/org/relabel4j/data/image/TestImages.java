package org.relabel4j.data.image;

import static org.bytedeco.opencv.global.opencv_core.CV_16UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC4;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.indexer.UByteIndexer;
import org.bytedeco.javacpp.indexer.UShortIndexer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/** Synthetic test images encoded with OpenCV (no binary test data), and a hand-assembled CMYK/YCCK JPEG. */
public final class TestImages {
    private TestImages() {}

    /** Color of pixel (x, y) as 0xRRGGBB. */
    public interface Pixels {
        int rgb(int x, int y);
    }

    /** A gradient: red grows with x, green with y, blue constant. */
    public static final Pixels GRADIENT = (x, y) -> (Math.min(255, x * 2) << 16) | (Math.min(255, y * 3) << 8) | 77;

    /** Four colored quadrants: red, green / blue, white. */
    public static Pixels quadrants(int w, int h) {
        return (x, y) -> x < w / 2 ? (y < h / 2 ? 0xFF0000 : 0x0000FF) : (y < h / 2 ? 0x00FF00 : 0xFFFFFF);
    }

    /** An 8-bit BGR Mat (OpenCV's order) holding {@code p}. */
    public static Mat bgr(int w, int h, Pixels p) {
        Mat m = new Mat(h, w, CV_8UC3);
        try (UByteIndexer ix = m.createIndexer()) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int c = p.rgb(x, y);
                    ix.put(y, x, 0, c & 0xFF);
                    ix.put(y, x, 1, (c >> 8) & 0xFF);
                    ix.put(y, x, 2, (c >> 16) & 0xFF);
                }
        }
        return m;
    }

    public static byte[] encode(String ext, Mat m, int... params) {
        try (BytePointer out = new BytePointer(); IntPointer ps = new IntPointer(params)) {
            if (!opencv_imgcodecs.imencode(ext, m, out, ps)) throw new IllegalStateException("imencode " + ext + " failed");
            byte[] b = new byte[(int) out.limit()];
            out.get(b);
            return b;
        }
    }

    public static byte[] jpeg(int w, int h, Pixels p, int... params) {
        try (Mat m = bgr(w, h, p)) {
            return encode(".jpg", m, params);
        }
    }

    public static byte[] png(int w, int h, Pixels p) {
        try (Mat m = bgr(w, h, p)) {
            return encode(".png", m);
        }
    }

    /** A grayscale (1-component) JPEG: value(x, y) given as the low byte of {@code p}. */
    public static byte[] grayJpeg(int w, int h, Pixels p) {
        try (Mat m = new Mat(h, w, CV_8UC1)) {
            try (UByteIndexer ix = m.createIndexer()) {
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) ix.put(y, x, p.rgb(x, y) & 0xFF);
            }
            return encode(".jpg", m, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 95);
        }
    }

    /** An RGBA PNG: color from {@code p}, alpha {@code alpha(x, y)}. */
    public static byte[] rgbaPng(int w, int h, Pixels p, Pixels alpha) {
        try (Mat m = new Mat(h, w, CV_8UC4)) {
            try (UByteIndexer ix = m.createIndexer()) {
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int c = p.rgb(x, y);
                        ix.put(y, x, 0, c & 0xFF);
                        ix.put(y, x, 1, (c >> 8) & 0xFF);
                        ix.put(y, x, 2, (c >> 16) & 0xFF);
                        ix.put(y, x, 3, alpha.rgb(x, y) & 0xFF);
                    }
            }
            return encode(".png", m);
        }
    }

    /** A 16-bit RGB PNG; channel values {@code r, g, b} everywhere. */
    public static byte[] png16(int w, int h, int r, int g, int b) {
        try (Mat m = new Mat(h, w, CV_16UC3)) {
            try (UShortIndexer ix = m.createIndexer()) {
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        ix.put(y, x, 0, b);
                        ix.put(y, x, 1, g);
                        ix.put(y, x, 2, r);
                    }
            }
            return encode(".png", m);
        }
    }

    /**
     * A 4-component JPEG with an Adobe APP14 marker: transform 0 (CMYK) or 2 (YCCK), components holding the
     * constant values {@code v[0..3]}. OpenCV cannot write one, so it is assembled from four grayscale JPEGs of
     * the same size and quality (same quantization and standard Huffman tables): one frame of 4 components, one
     * non-interleaved scan per component holding that grayscale JPEG's entropy-coded data.
     */
    public static byte[] fourComponentJpeg(int w, int h, int[] v, int adobeTransform) {
        List<byte[]> scans = new ArrayList<>();
        byte[] tables = null;
        for (int k = 0; k < 4; k++) {
            int value = v[k];
            byte[] gray = grayJpeg(w, h, (x, y) -> value);
            ByteArrayOutputStream t = new ByteArrayOutputStream();
            int p = 2, scan = -1;
            while (scan < 0) {
                if ((gray[p] & 0xFF) != 0xFF) throw new IllegalStateException("unexpected JPEG layout at " + p);
                int m = gray[p + 1] & 0xFF, len = ((gray[p + 2] & 0xFF) << 8) | (gray[p + 3] & 0xFF);
                if (m == 0xDB || m == 0xC4) t.write(gray, p, 2 + len);  // DQT, DHT
                if (m == 0xDD) throw new IllegalStateException("restart interval");
                if (m == 0xC0 && gray[p + 9] != 1) throw new IllegalStateException("not 1 component");
                if (m == 0xDA) scan = p + 2 + len;
                p += 2 + len;
            }
            if ((gray[gray.length - 2] & 0xFF) != 0xFF || (gray[gray.length - 1] & 0xFF) != 0xD9)
                throw new IllegalStateException("no EOI at the end");
            scans.add(Arrays.copyOfRange(gray, scan, gray.length - 2));
            if (tables == null) tables = t.toByteArray();
            else if (!Arrays.equals(tables, t.toByteArray())) throw new IllegalStateException("tables differ");
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0xFF);
        o.write(0xD8);
        o.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) adobeTransform});
        o.writeBytes(tables);
        o.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xC0, 0, 20, 8, (byte) (h >> 8), (byte) h, (byte) (w >> 8), (byte) w, 4});
        for (int c = 1; c <= 4; c++) o.writeBytes(new byte[] {(byte) c, 0x11, 0});
        for (int c = 1; c <= 4; c++) {
            o.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xDA, 0, 8, 1, (byte) c, 0x00, 0, 63, 0});
            o.writeBytes(scans.get(c - 1));
        }
        o.write(0xFF);
        o.write(0xD9);
        return o.toByteArray();
    }
}
