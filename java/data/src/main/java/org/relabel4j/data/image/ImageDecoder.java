package org.relabel4j.data.image;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR_RGB;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_IGNORE_ORIENTATION;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_2;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_4;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_REDUCED_GRAYSCALE_8;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decodes JPEG, PNG and the other formats of OpenCV's imgcodecs (WebP, BMP, TIFF, PNM, GIF, JPEG 2000) with the
 * JavaCPP OpenCV preset into 8-bit, 3-channel <b>RGB</b> images ({@link DecodedImage}): grayscale is replicated
 * to 3 channels, CMYK and YCCK JPEGs are converted (OpenCV assumes Adobe's inverted CMYK), alpha is dropped
 * (not composited, like PIL's {@code convert("RGB")}), 16-bit PNGs keep their high byte.
 *
 * <ul>
 *   <li><b>Orientation</b>: EXIF orientation is not applied ({@code IMREAD_IGNORE_ORIENTATION}): pixels come out as
 *       stored, as PIL's {@code Image.open(...).convert("RGB")} in torchvision's loader gives them, which is the
 *       geometry ReLabel's label maps were computed on. {@link #probe} reports the stored size too.</li>
 *   <li><b>Reduced decoding</b>: {@code decode(bytes, r)} with r = 2, 4, 8 decodes a JPEG at 1/r scale in the DCT
 *       ({@code IMREAD_REDUCED_*}, libjpeg-turbo), giving {@code ceil(w/r) x ceil(h/r)} pixels several times
 *       faster; other formats decode at full size and report reduction 1. {@link #reductionFor} picks r for a
 *       crop: probe, choose the crop box, decode at r, crop {@code box / r}, resize.</li>
 *   <li><b>Errors</b> are {@link CorruptImageException}s naming the origin, never a crash: empty or unrecognized
 *       bytes, JPEG/PNG headers that are cut or malformed, zero width or height, more than {@link #MAX_SIDE} pixels
 *       a side or more than {@code maxPixels} pixels (checked from the header before decoding for JPEG and PNG,
 *       after decoding for the others, where OpenCV's own limit of 2^30 pixels applies first), anything OpenCV
 *       cannot decode (it returns an empty Mat or throws).</li>
 *   <li><b>Truncated JPEGs</b> are errors: a JPEG whose scan data is not followed by an end-of-image marker is
 *       rejected before decoding (OpenCV 4.13 also refuses them). JPEGs with corrupt entropy data but a complete
 *       structure decode as libjpeg repairs them (as with PIL), and libjpeg prints its warning ("Corrupt JPEG
 *       data: ...") on the process's stderr, as libpng does for broken PNGs, and OpenCV logs a {@code [ WARN ]} line
 *       for some undecodable data: that output is native and cannot be redirected from Java (set
 *       {@code OPENCV_LOG_LEVEL=ERROR} in the environment to silence OpenCV's own lines). Every failure still
 *       surfaces as a {@link CorruptImageException} naming the origin.</li>
 *   <li><b>Threads</b>: instances are immutable and thread-safe; decode from as many loader threads as wanted.
 *       Loading this class calls {@code cv::setNumThreads(0)} once, process-wide: OpenCV then runs its functions
 *       on the calling thread and never starts its own pool inside loader threads (the loader's threads are the
 *       parallelism). This class never touches LibTorch.</li>
 * </ul>
 */
public final class ImageDecoder {
    /** Largest width or height accepted. */
    public static final int MAX_SIDE = 65_535;
    /** Default pixel budget: PIL's {@code MAX_IMAGE_PIXELS} (a decompression-bomb guard), ~512 MiB as RGB. */
    public static final long DEFAULT_MAX_PIXELS = 178_956_970L;

    static {
        opencv_core.setNumThreads(0);
    }

    private final long maxPixels;

    /** A decoder with the {@link #DEFAULT_MAX_PIXELS} budget. */
    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    /** A decoder refusing images of more than {@code maxPixels} pixels (full size). */
    public ImageDecoder(long maxPixels) {
        if (maxPixels < 1) throw new IllegalArgumentException("maxPixels must be >= 1: " + maxPixels);
        this.maxPixels = maxPixels;
    }

    public long maxPixels() {
        return maxPixels;
    }

    /** Width, height and format of an encoded image; see {@link #probe(byte[], String)}. */
    public Dims probe(byte[] encoded) throws CorruptImageException {
        return probe(encoded, unnamed(encoded));
    }

    /**
     * Width, height and format of an encoded image without decoding its pixels for JPEG (frame header) and PNG
     * (IHDR); other formats are decoded in full. {@code origin} names the bytes in errors.
     */
    public Dims probe(byte[] encoded, String origin) throws CorruptImageException {
        ImageFormat format = checkedFormat(encoded, origin);
        Dims dims = switch (format) {
            case JPEG -> jpegHeader(encoded, origin, false).dims();
            case PNG -> pngDims(encoded, origin);
            default -> null;
        };
        if (dims != null) return checkSize(dims, origin);
        try (DecodedImage image = decode(encoded, 1, origin)) {
            return new Dims(image.width(), image.height(), format);
        }
    }

    /** Decodes at full size. */
    public DecodedImage decode(byte[] encoded) throws CorruptImageException {
        return decode(encoded, 1, unnamed(encoded));
    }

    /** Decodes at {@code reduction} (1, 2, 4, 8; JPEG only, see {@link #decode(byte[], int, String)}). */
    public DecodedImage decode(byte[] encoded, int reduction) throws CorruptImageException {
        return decode(encoded, reduction, unnamed(encoded));
    }

    /**
     * Decodes to 8-bit RGB. A JPEG is decoded at 1/{@code reduction} scale ({@code ceil(w/r) x ceil(h/r)}); other
     * formats at full size ({@link DecodedImage#reduction()} 1). {@code origin} names the bytes in errors.
     *
     * @throws IllegalArgumentException if reduction is not 1, 2, 4 or 8
     */
    public DecodedImage decode(byte[] encoded, int reduction, String origin) throws CorruptImageException {
        if (reduction != 1 && reduction != 2 && reduction != 4 && reduction != 8)
            throw new IllegalArgumentException("reduction must be 1, 2, 4 or 8: " + reduction);
        ImageFormat format = checkedFormat(encoded, origin);
        Dims dims = null;
        int r = 1;
        if (format == ImageFormat.JPEG) {
            JpegHeader h = jpegHeader(encoded, origin, true);
            dims = checkSize(h.dims(), origin);
            if (!hasEndMarker(encoded, h.scanStart()))
                throw new CorruptImageException(origin, "truncated JPEG: no end-of-image marker after the scan data ("
                        + encoded.length + " bytes)");
            r = reduction;
        } else if (format == ImageFormat.PNG) {
            dims = checkSize(pngDims(encoded, origin), origin);
        }
        int flags = IMREAD_COLOR_RGB | IMREAD_IGNORE_ORIENTATION | switch (r) {
            case 2 -> IMREAD_REDUCED_GRAYSCALE_2;  // the REDUCED_GRAYSCALE bits only: the color comes from COLOR_RGB
            case 4 -> IMREAD_REDUCED_GRAYSCALE_4;
            case 8 -> IMREAD_REDUCED_GRAYSCALE_8;
            default -> 0;
        };
        Mat out;
        try (BytePointer data = new BytePointer(encoded); Mat buffer = new Mat(1, encoded.length, CV_8UC1, data)) {
            out = opencv_imgcodecs.imdecode(buffer, flags);
        } catch (RuntimeException e) {  // cv::Exception
            throw new CorruptImageException(origin, "cannot decode " + name(format) + ": " + firstLine(e.getMessage()), e);
        }
        if (out == null || out.isNull() || out.empty()) {
            if (out != null) out.close();
            throw new CorruptImageException(origin, format == ImageFormat.UNKNOWN
                    ? "not an image (unknown format, " + encoded.length + " bytes)"
                    : "corrupt or unsupported " + name(format) + " data (OpenCV cannot decode it)");
        }
        try {
            if (out.type() != CV_8UC3)
                throw new CorruptImageException(origin, "decoded to an unexpected pixel type " + out.type());
            if (dims != null) {
                int w = (dims.width() + r - 1) / r, h = (dims.height() + r - 1) / r;
                if (out.cols() != w || out.rows() != h)
                    throw new CorruptImageException(origin, "decoded to " + out.cols() + " x " + out.rows() + " pixels, its header says "
                            + dims.width() + " x " + dims.height() + (r > 1 ? " (at 1/" + r + ": " + w + " x " + h + ")" : ""));
            } else {
                checkSize(new Dims(out.cols(), out.rows(), format), origin);
            }
        } catch (CorruptImageException e) {
            out.close();
            throw e;
        }
        return new DecodedImage(out, r, format);
    }

    /**
     * The largest reduction (8, 4, 2 or 1) at which a {@code cropWidth x cropHeight} crop (full-size pixels) still
     * spans at least {@code outWidth x outHeight} pixels, so that resizing it to the output never upsamples what a
     * full decode would have downsampled. Reduced decoding applies to JPEGs only; the caller crops the decoded
     * image at the crop box divided by {@link DecodedImage#reduction()}.
     */
    public static int reductionFor(int cropWidth, int cropHeight, int outWidth, int outHeight) {
        if (cropWidth < 1 || cropHeight < 1 || outWidth < 1 || outHeight < 1)
            throw new IllegalArgumentException("sizes must be positive: crop " + cropWidth + " x " + cropHeight + ", output "
                    + outWidth + " x " + outHeight);
        for (int r = 8; r > 1; r /= 2)
            if (cropWidth / r >= outWidth && cropHeight / r >= outHeight) return r;
        return 1;
    }

    private static String unnamed(byte[] encoded) {
        return "image (" + (encoded == null ? 0 : encoded.length) + " bytes)";
    }

    private static String name(ImageFormat f) {
        return f == ImageFormat.UNKNOWN ? "image" : f.name();
    }

    private static String firstLine(String s) {
        if (s == null) return "OpenCV error";
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static ImageFormat checkedFormat(byte[] encoded, String origin) throws CorruptImageException {
        if (encoded == null || encoded.length == 0) throw new CorruptImageException(origin, "empty (0 bytes)");
        return ImageFormat.sniff(encoded);
    }

    private Dims checkSize(Dims d, String origin) throws CorruptImageException {
        if (d.width() <= 0 || d.height() <= 0)
            throw new CorruptImageException(origin, "zero-size " + name(d.format()) + ": " + d.width() + " x " + d.height());
        if (d.width() > MAX_SIDE || d.height() > MAX_SIDE)
            throw new CorruptImageException(origin, "too large: " + d.width() + " x " + d.height() + " pixels (limit "
                    + MAX_SIDE + " a side)");
        long pixels = (long) d.width() * d.height();
        if (pixels > maxPixels)
            throw new CorruptImageException(origin, "too large: " + d.width() + " x " + d.height() + " = " + pixels
                    + " pixels, more than the limit of " + maxPixels);
        return d;
    }

    /** A JPEG's frame size and where its first scan's entropy-coded data starts (-1 when not parsed that far). */
    private record JpegHeader(Dims dims, int scanStart) {}

    /**
     * Walks the JPEG marker segments to the frame header (SOFn), and with {@code toScan} on to the first SOS.
     * Bytes between segments that are not a marker are skipped, as libjpeg does.
     */
    private static JpegHeader jpegHeader(byte[] b, String origin, boolean toScan) throws CorruptImageException {
        int n = b.length, p = 2;
        Dims dims = null;
        while (true) {
            while (p < n && (b[p] & 0xFF) != 0xFF) p++;  // garbage between segments
            while (p < n && (b[p] & 0xFF) == 0xFF) p++;  // fill bytes
            if (p >= n)
                throw new CorruptImageException(origin, "truncated JPEG: ends before its "
                        + (dims == null ? "frame header (SOF)" : "scan data") + " (" + n + " bytes)");
            int m = b[p++] & 0xFF;
            if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
            if (m == 0xD9)
                throw new CorruptImageException(origin, "JPEG ends (EOI marker) before its " + (dims == null ? "frame header" : "scan data"));
            if (p + 2 > n) throw new CorruptImageException(origin, "truncated JPEG: cut in a marker segment");
            int len = u16(b, p);
            if (len < 2) throw new CorruptImageException(origin, "corrupt JPEG: segment length " + len + " at offset " + p);
            boolean sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof && dims == null) {
                if (len < 8 || p + 8 > n) throw new CorruptImageException(origin, "truncated JPEG frame header");
                dims = new Dims(u16(b, p + 5), u16(b, p + 3), ImageFormat.JPEG);
                if (!toScan) return new JpegHeader(dims, -1);
            } else if (m == 0xDA) {
                if (dims == null) throw new CorruptImageException(origin, "corrupt JPEG: scan data before the frame header (SOF)");
                return new JpegHeader(dims, Math.min(n, p + len));
            }
            p += len;
        }
    }

    /** Whether an end-of-image marker (FF D9) follows the scan data (entropy-coded data never holds FF D9). */
    private static boolean hasEndMarker(byte[] b, int scanStart) {
        for (int i = b.length - 2; i >= scanStart; i--)
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xD9) return true;
        return false;
    }

    private static Dims pngDims(byte[] b, String origin) throws CorruptImageException {
        if (b.length < 24) throw new CorruptImageException(origin, "truncated PNG: " + b.length + " bytes, no header");
        if (b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R')
            throw new CorruptImageException(origin, "corrupt PNG: the first chunk is not IHDR");
        long w = u32(b, 16), h = u32(b, 20);
        return new Dims((int) Math.min(w, Integer.MAX_VALUE), (int) Math.min(h, Integer.MAX_VALUE), ImageFormat.PNG);
    }

    private static int u16(byte[] b, int p) {
        return ((b[p] & 0xFF) << 8) | (b[p + 1] & 0xFF);
    }

    private static long u32(byte[] b, int p) {
        return ((long) (b[p] & 0xFF) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
    }
}
