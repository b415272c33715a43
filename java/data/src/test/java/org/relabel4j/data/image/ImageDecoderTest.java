package org.relabel4j.data.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder();

    /** Pixel (x, y) of a decoded image as 0xRRGGBB. */
    private static int rgbAt(byte[] rgb, int width, int x, int y) {
        int i = (y * width + x) * 3;
        return ((rgb[i] & 0xFF) << 16) | ((rgb[i + 1] & 0xFF) << 8) | (rgb[i + 2] & 0xFF);
    }

    private static void assertColor(String what, int want, int got, int tolerance) {
        for (int shift = 16; shift >= 0; shift -= 8) {
            int w = (want >> shift) & 0xFF, g = (got >> shift) & 0xFF;
            if (Math.abs(w - g) > tolerance)
                fail(String.format("%s: got #%06X, want #%06X (channel %s off by %d > %d)", what, got, want,
                        shift == 16 ? "R" : shift == 8 ? "G" : "B", Math.abs(w - g), tolerance));
        }
    }

    @Test
    void probeReadsJpegAndPngHeaders() throws Exception {
        byte[] baseline = TestImages.jpeg(123, 45, TestImages.GRADIENT);
        byte[] progressive = TestImages.jpeg(77, 201, TestImages.GRADIENT, opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
        byte[] png = TestImages.png(64, 9, TestImages.GRADIENT);
        byte[] gray = TestImages.grayJpeg(31, 17, (x, y) -> x * 8);
        assertEquals(new Dims(123, 45, ImageFormat.JPEG), decoder.probe(baseline));
        assertEquals(new Dims(77, 201, ImageFormat.JPEG), decoder.probe(progressive));
        assertEquals(new Dims(64, 9, ImageFormat.PNG), decoder.probe(png));
        assertEquals(new Dims(31, 17, ImageFormat.JPEG), decoder.probe(gray));
        // SOF2 (progressive) really is what the probe parsed
        assertTrue(indexOf(progressive, (byte) 0xFF, (byte) 0xC2) > 0, "progressive JPEG has an SOF2 marker");
        for (byte[] b : new byte[][] {baseline, progressive, png, gray}) {
            Dims d = decoder.probe(b);
            try (DecodedImage img = decoder.decode(b)) {
                assertEquals(d.width(), img.width());
                assertEquals(d.height(), img.height());
                assertEquals(d.format(), img.format());
            }
        }
    }

    @Test
    void probeFallsBackToDecodingOtherFormats() throws Exception {
        try (var m = TestImages.bgr(40, 30, TestImages.GRADIENT)) {
            byte[] bmp = TestImages.encode(".bmp", m);
            byte[] webp = TestImages.encode(".webp", m);
            byte[] tiff = TestImages.encode(".tiff", m);
            assertEquals(new Dims(40, 30, ImageFormat.BMP), decoder.probe(bmp));
            assertEquals(new Dims(40, 30, ImageFormat.WEBP), decoder.probe(webp));
            assertEquals(new Dims(40, 30, ImageFormat.TIFF), decoder.probe(tiff));
            try (DecodedImage img = decoder.decode(bmp, 4)) {  // no reduced decoding but JPEG's
                assertEquals(1, img.reduction());
                assertEquals(40, img.width());
                assertColor("bmp pixel", TestImages.GRADIENT.rgb(13, 7), rgbAt(img.toRgbBytes(), 40, 13, 7), 0);
            }
        }
    }

    @Test
    void decodesRgbInRgbOrder() throws Exception {
        int w = 64, h = 48;
        TestImages.Pixels q = TestImages.quadrants(w, h);
        for (byte[] b : new byte[][] {TestImages.png(w, h, q), TestImages.jpeg(w, h, q, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 98)}) {
            try (DecodedImage img = decoder.decode(b)) {
                assertEquals(opencv_core.CV_8UC3, img.mat().type());
                byte[] rgb = img.toRgbBytes();
                int tol = img.format() == ImageFormat.PNG ? 0 : 6;
                assertColor(img.format() + " red quadrant", 0xFF0000, rgbAt(rgb, w, 8, 8), tol);
                assertColor(img.format() + " green quadrant", 0x00FF00, rgbAt(rgb, w, w - 8, 8), tol);
                assertColor(img.format() + " blue quadrant", 0x0000FF, rgbAt(rgb, w, 8, h - 8), tol);
                assertColor(img.format() + " white quadrant", 0xFFFFFF, rgbAt(rgb, w, w - 8, h - 8), tol);
            }
        }
        // a gradient, exact through PNG
        byte[] png = TestImages.png(100, 80, TestImages.GRADIENT);
        try (DecodedImage img = decoder.decode(png)) {
            byte[] rgb = img.toRgbBytes();
            for (int y = 0; y < 80; y += 7)
                for (int x = 0; x < 100; x += 9) assertColor("(" + x + "," + y + ")", TestImages.GRADIENT.rgb(x, y), rgbAt(rgb, 100, x, y), 0);
        }
    }

    @Test
    void reducedJpegDecodingGivesCeilSizesAndTheColors() throws Exception {
        int w = 203, h = 157;  // not multiples of 8
        TestImages.Pixels q = TestImages.quadrants(w, h);
        byte[][] jpegs = {TestImages.jpeg(w, h, q, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 98),
                TestImages.jpeg(w, h, q, opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 98, opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1)};
        for (byte[] jpeg : jpegs) {
            for (int r : new int[] {1, 2, 4, 8}) {
                try (DecodedImage img = decoder.decode(jpeg, r, "test.jpg")) {
                    int rw = (w + r - 1) / r, rh = (h + r - 1) / r;
                    assertEquals(r, img.reduction());
                    assertEquals(rw, img.width(), "width at 1/" + r);
                    assertEquals(rh, img.height(), "height at 1/" + r);
                    byte[] rgb = img.toRgbBytes();
                    assertEquals(rw * rh * 3, rgb.length);
                    // quadrant centers, away from edges blurred by the DCT scaling
                    assertColor("red at 1/" + r, 0xFF0000, rgbAt(rgb, rw, rw / 4, rh / 4), 12);
                    assertColor("green at 1/" + r, 0x00FF00, rgbAt(rgb, rw, 3 * rw / 4, rh / 4), 12);
                    assertColor("blue at 1/" + r, 0x0000FF, rgbAt(rgb, rw, rw / 4, 3 * rh / 4), 12);
                    assertColor("white at 1/" + r, 0xFFFFFF, rgbAt(rgb, rw, 3 * rw / 4, 3 * rh / 4), 12);
                }
            }
        }
        byte[] png = TestImages.png(w, h, q);
        try (DecodedImage img = decoder.decode(png, 4)) {
            assertEquals(1, img.reduction(), "PNG decodes at full size");
            assertEquals(w, img.width());
            assertEquals(h, img.height());
        }
        assertThrows(IllegalArgumentException.class, () -> decoder.decode(png, 3));
        assertThrows(IllegalArgumentException.class, () -> decoder.decode(png, 16));
    }

    @Test
    void grayscaleJpegComesOutAsThreeEqualChannels() throws Exception {
        byte[] gray = TestImages.grayJpeg(40, 24, (x, y) -> x < 20 ? 40 : 200);
        try (DecodedImage img = decoder.decode(gray)) {
            assertEquals(3, img.mat().channels());
            byte[] rgb = img.toRgbBytes();
            assertColor("dark half", 0x282828, rgbAt(rgb, 40, 5, 12), 3);
            assertColor("light half", 0xC8C8C8, rgbAt(rgb, 40, 35, 12), 3);
            for (int i = 0; i < rgb.length; i += 3) {
                assertEquals(rgb[i], rgb[i + 1]);
                assertEquals(rgb[i], rgb[i + 2]);
            }
        }
        try (DecodedImage img = decoder.decode(gray, 2)) {
            assertEquals(20, img.width());
            assertEquals(12, img.height());
        }
    }

    @Test
    void cmykAndYcckJpegsComeOutAsRgb() throws Exception {
        // Adobe CMYK: stored values are inverted (255 = no ink); OpenCV gives R ~ C * K / 255, etc.
        byte[] cmyk = TestImages.fourComponentJpeg(48, 40, new int[] {200, 100, 50, 255}, 0);
        assertEquals(new Dims(48, 40, ImageFormat.JPEG), decoder.probe(cmyk));
        try (DecodedImage img = decoder.decode(cmyk, 1, "cmyk.jpg")) {
            assertEquals(opencv_core.CV_8UC3, img.mat().type());
            assertColor("CMYK, K = 255", 0xC86432, rgbAt(img.toRgbBytes(), 48, 20, 20), 4);
        }
        byte[] darker = TestImages.fourComponentJpeg(48, 40, new int[] {200, 100, 50, 128}, 0);
        try (DecodedImage img = decoder.decode(darker, 2, "cmyk-k.jpg")) {
            assertEquals(24, img.width());
            assertColor("CMYK, K = 128", (100 << 16) | (50 << 8) | 25, rgbAt(img.toRgbBytes(), 24, 10, 10), 4);
        }
        // YCCK: a neutral YCC (Cb = Cr = 128) is gray; OpenCV's conversion gives about 255 - Y with K = 255
        byte[] ycck = TestImages.fourComponentJpeg(32, 32, new int[] {60, 128, 128, 255}, 2);
        try (DecodedImage img = decoder.decode(ycck, 1, "ycck.jpg")) {
            int c = rgbAt(img.toRgbBytes(), 32, 16, 16);
            assertEquals((c >> 16) & 0xFF, (c >> 8) & 0xFF, "gray");
            assertEquals((c >> 16) & 0xFF, c & 0xFF, "gray");
            assertColor("YCCK", 0xC3C3C3, c, 6);
        }
    }

    @Test
    void pngAlphaIsDroppedAnd16BitKeepsTheHighByte() throws Exception {
        byte[] rgba = TestImages.rgbaPng(20, 10, (x, y) -> 0x336699, (x, y) -> x * 12);
        try (DecodedImage img = decoder.decode(rgba)) {
            assertEquals(opencv_core.CV_8UC3, img.mat().type());
            byte[] rgb = img.toRgbBytes();
            for (int x = 0; x < 20; x++) assertColor("alpha " + x * 12, 0x336699, rgbAt(rgb, 20, x, 5), 0);
        }
        byte[] png16 = TestImages.png16(9, 7, 0xFF80, 0xABCD, 0x1234);
        assertEquals(new Dims(9, 7, ImageFormat.PNG), decoder.probe(png16));
        try (DecodedImage img = decoder.decode(png16)) {
            assertEquals(opencv_core.CV_8UC3, img.mat().type());
            assertColor("16-bit", 0xFFAB12, rgbAt(img.toRgbBytes(), 9, 4, 3), 1);
        }
    }

    @Test
    void corruptBytesThrowNamingTheOrigin() throws Exception {
        Random random = new Random(42);
        byte[] garbage = new byte[5000];
        random.nextBytes(garbage);
        garbage[0] = 0x12;  // not a JPEG or PNG signature by chance
        byte[] jpeg = TestImages.jpeg(64, 64, TestImages.GRADIENT);
        byte[] progressive = TestImages.jpeg(64, 64, TestImages.GRADIENT, opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1);
        byte[] png = TestImages.png(64, 64, TestImages.GRADIENT);
        byte[] soiThenGarbage = garbage.clone();
        soiThenGarbage[0] = (byte) 0xFF;
        soiThenGarbage[1] = (byte) 0xD8;
        soiThenGarbage[2] = (byte) 0xFF;
        byte[] pngThenGarbage = Arrays.copyOf(png, 33);
        pngThenGarbage = concat(pngThenGarbage, Arrays.copyOf(garbage, 300));

        Object[][] cases = {
            {"random bytes", garbage, "not an image"},
            {"empty", new byte[0], "empty"},
            {"JPEG signature + garbage", soiThenGarbage, ""},
            {"JPEG cut after the header", Arrays.copyOf(jpeg, 200), "truncated"},
            {"JPEG cut in half", Arrays.copyOf(jpeg, jpeg.length / 2), "truncated"},
            {"JPEG without its last byte", Arrays.copyOf(jpeg, jpeg.length - 1), "truncated"},
            {"progressive JPEG cut", Arrays.copyOf(progressive, progressive.length * 2 / 3), "truncated"},
            {"JPEG of 10 bytes", Arrays.copyOf(jpeg, 10), "truncated"},
            {"PNG cut in half", Arrays.copyOf(png, png.length / 2), "PNG"},
            {"PNG of 20 bytes", Arrays.copyOf(png, 20), "truncated PNG"},
            {"PNG header + garbage", pngThenGarbage, "PNG"},
        };
        for (Object[] c : cases) {
            String what = (String) c[0];
            byte[] bytes = (byte[]) c[1];
            CorruptImageException e = assertThrows(CorruptImageException.class,
                    () -> decoder.decode(bytes, 1, "shard-7.tar:" + what).close(), what);
            assertEquals("shard-7.tar:" + what, e.origin(), what);
            assertTrue(e.getMessage().startsWith("shard-7.tar:" + what + ": "), what + ": " + e.getMessage());
            assertTrue(e.getMessage().contains((String) c[2]), what + ": " + e.getMessage());
            for (int r : new int[] {2, 8})
                assertThrows(CorruptImageException.class, () -> decoder.decode(bytes, r, what).close(), what + " at 1/" + r);
        }
        assertThrows(CorruptImageException.class, () -> decoder.probe(garbage, "g"));
        assertThrows(CorruptImageException.class, () -> decoder.probe(Arrays.copyOf(jpeg, 12), "j"));
        // many random truncations and byte flips: an exception or an image, never a crash
        for (int i = 0; i < 300; i++) {
            byte[] src = i % 3 == 0 ? png : i % 3 == 1 ? jpeg : progressive;
            byte[] b = Arrays.copyOf(src, 1 + random.nextInt(src.length));
            if (i % 2 == 0) {
                b = src.clone();
                for (int k = 0; k < 1 + random.nextInt(8); k++) b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
            }
            try (DecodedImage img = decoder.decode(b, 1 << random.nextInt(4), "fuzz " + i)) {
                assertEquals(opencv_core.CV_8UC3, img.mat().type());
            } catch (CorruptImageException e) {
                assertEquals("fuzz " + i, e.origin());
            }
        }
    }

    @Test
    void zeroAndAbsurdSizesAreRefusedBeforeDecoding() throws Exception {
        byte[] png = TestImages.png(16, 16, TestImages.GRADIENT);
        byte[] huge = png.clone();
        putU32(huge, 16, 100_000);
        putU32(huge, 20, 100_000);
        CorruptImageException e = assertThrows(CorruptImageException.class, () -> decoder.decode(huge, 1, "huge.png"));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        assertThrows(CorruptImageException.class, () -> decoder.probe(huge, "huge.png"));
        byte[] zero = png.clone();
        putU32(zero, 16, 0);
        e = assertThrows(CorruptImageException.class, () -> decoder.decode(zero, 1, "zero.png"));
        assertTrue(e.getMessage().contains("zero-size"), e.getMessage());

        byte[] jpeg = TestImages.jpeg(32, 24, TestImages.GRADIENT);
        int sof = indexOf(jpeg, (byte) 0xFF, (byte) 0xC0);
        byte[] big = jpeg.clone();  // 65535 x 65535: within the side limit, over the pixel budget
        big[sof + 5] = big[sof + 6] = big[sof + 7] = big[sof + 8] = (byte) 0xFF;
        e = assertThrows(CorruptImageException.class, () -> decoder.decode(big, 8, "big.jpg"));
        assertTrue(e.getMessage().contains("65535 x 65535"), e.getMessage());
        byte[] zeroJpeg = jpeg.clone();
        zeroJpeg[sof + 5] = zeroJpeg[sof + 6] = 0;
        assertThrows(CorruptImageException.class, () -> decoder.probe(zeroJpeg, "zero.jpg"));
        assertThrows(CorruptImageException.class, () -> decoder.decode(zeroJpeg, 1, "zero.jpg"));

        ImageDecoder small = new ImageDecoder(500);
        e = assertThrows(CorruptImageException.class, () -> small.decode(jpeg, 1, "budget.jpg"));
        assertTrue(e.getMessage().contains("768"), e.getMessage());
        try (var m = TestImages.bgr(40, 30, TestImages.GRADIENT)) {
            byte[] bmp = TestImages.encode(".bmp", m);  // checked after decoding
            assertThrows(CorruptImageException.class, () -> small.decode(bmp, 1, "budget.bmp"));
        }
    }

    @Test
    void exifOrientationIsNotApplied() throws Exception {
        // A JPEG with an EXIF APP1 block saying "rotate 90" (orientation 6): pixels come out as stored.
        byte[] jpeg = TestImages.jpeg(40, 20, TestImages.quadrants(40, 20), opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 98);
        byte[] exif = {(byte) 0xFF, (byte) 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
            'M', 'M', 0, 42, 0, 0, 0, 8,  // TIFF header, big endian, IFD at 8
            0, 1,  // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,  // Orientation (0x0112), SHORT, 1, value 6
            0, 0, 0, 0};  // no next IFD
        byte[] rotated = concat(Arrays.copyOf(jpeg, 2), concat(exif, Arrays.copyOfRange(jpeg, 2, jpeg.length)));
        assertEquals(new Dims(40, 20, ImageFormat.JPEG), decoder.probe(rotated));
        try (DecodedImage img = decoder.decode(rotated)) {
            assertEquals(40, img.width());
            assertEquals(20, img.height());
            assertColor("top-left stays red", 0xFF0000, rgbAt(img.toRgbBytes(), 40, 4, 4), 8);
        }
    }

    @Test
    void reductionForPicksTheLargestScaleCoveringTheOutput() {
        assertEquals(8, ImageDecoder.reductionFor(2000, 1800, 224, 224));
        assertEquals(4, ImageDecoder.reductionFor(1000, 900, 224, 224));
        assertEquals(2, ImageDecoder.reductionFor(500, 1000, 224, 224));
        assertEquals(1, ImageDecoder.reductionFor(447, 2000, 224, 224));
        assertEquals(2, ImageDecoder.reductionFor(448, 448, 224, 224));
        assertEquals(1, ImageDecoder.reductionFor(100, 100, 224, 224));
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.reductionFor(0, 10, 1, 1));
    }

    @Test
    void closedImagesRefuseAccess() throws Exception {
        DecodedImage img = decoder.decode(TestImages.png(4, 4, TestImages.GRADIENT));
        img.close();
        img.close();  // idempotent
        assertThrows(IllegalStateException.class, img::mat);
        assertThrows(IllegalStateException.class, img::width);
    }

    @Test
    void openCvRunsSingleThreaded() {
        new ImageDecoder();  // class loaded: setNumThreads(0) done
        assertEquals(1, opencv_core.getNumThreads(), "OpenCV must not keep a thread pool inside loader threads");
    }

    @Test
    void sniffsFormats() {
        assertEquals(ImageFormat.JPEG, ImageFormat.sniff(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0}));
        assertEquals(ImageFormat.GIF, ImageFormat.sniff("GIF89a....".getBytes()));
        assertEquals(ImageFormat.PNM, ImageFormat.sniff("P6\n3 2\n255\n".getBytes()));
        assertEquals(ImageFormat.UNKNOWN, ImageFormat.sniff("hello".getBytes()));
        assertEquals(ImageFormat.UNKNOWN, ImageFormat.sniff(new byte[0]));
    }

    static int indexOf(byte[] b, byte x, byte y) {
        for (int i = 0; i + 1 < b.length; i++) if (b[i] == x && b[i + 1] == y) return i;
        return -1;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static void putU32(byte[] b, int at, long v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
