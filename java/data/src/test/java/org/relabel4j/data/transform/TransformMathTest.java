package org.relabel4j.data.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The pure parts of the augmentation: random streams, RandomResizedCrop parameters, jitter, lighting, normalize. */
class TransformMathTest {
    @Test
    void sampleStreamsAreFixedBySeedEpochAndIndex() {
        long[] a = draw(SampleRandom.of(7, 3, 12345)), b = draw(SampleRandom.of(7, 3, 12345));
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.toString(a), Arrays.toString(draw(SampleRandom.of(7, 4, 12345))));
        assertNotEquals(Arrays.toString(a), Arrays.toString(draw(SampleRandom.of(7, 3, 12346))));
        assertNotEquals(Arrays.toString(a), Arrays.toString(draw(SampleRandom.of(8, 3, 12345))));
        SampleRandom r = SampleRandom.of(1, 0, 0);
        double sum = 0, sq = 0;
        int n = 200_000;
        for (int i = 0; i < n; ++i) {
            double g = r.gaussian();
            sum += g;
            sq += g * g;
        }
        assertEquals(0, sum / n, 0.01);
        assertEquals(1, sq / n, 0.02);
        int[] p = SampleRandom.of(2, 0, 0).permutation(1000);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 1000; ++i) assertEquals(i, sorted[i]);
    }

    private static long[] draw(SampleRandom r) {
        long[] v = new long[8];
        for (int i = 0; i < v.length; ++i) v[i] = r.nextLong();
        return v;
    }

    @Test
    void randomResizedCropFollowsTorchvisionsDistribution() {
        RandomResizedCrop rrc = RandomResizedCrop.imagenet();
        int w = 1000, h = 800, n = 50_000;
        double sumScale = 0, sumLogRatio = 0;
        int centerX = 0;
        for (int i = 0; i < n; ++i) {
            CropBox c = rrc.sample(w, h, SampleRandom.of(0, 0, i));
            assertTrue(c.x() >= 0 && c.y() >= 0 && c.x() + c.width() <= w && c.y() + c.height() <= h, c.toString());
            double scale = (double) c.width() * c.height() / (w * h);
            double ratio = (double) c.width() / c.height();
            assertTrue(scale >= 0.078 && scale <= 1.0001, "scale " + scale);
            assertTrue(ratio >= 0.74 && ratio <= 1.35, "ratio " + ratio);
            sumScale += scale;
            sumLogRatio += Math.log(ratio);
            if (c.x() + c.width() / 2.0 < w / 2.0) ++centerX;
        }
        // Expected values from an independent NumPy simulation of torchvision's get_params on a 1000x800 image
        // (200k draws): rejected large crops bias the area down, the wide image biases the ratio up.
        assertEquals(0.453, sumScale / n, 0.006);
        assertEquals(0.028, sumLogRatio / n, 0.006);
        assertEquals(0.5, (double) centerX / n, 0.01);
    }

    @Test
    void randomResizedCropFallsBackToTheClampedCenter() {
        RandomResizedCrop rrc = RandomResizedCrop.imagenet();
        // A 1x100 strip: every attempt needs w >= 2, so the central crop clamped to ratio 3/4 is used.
        CropBox c = rrc.sample(1, 100, SampleRandom.of(0, 0, 0));
        assertEquals(new CropBox(0, 49, 1, 1, 1, 100), c);
        // A 400x10 strip: ratio 40 > 4/3: height kept, width = round(10 * 4/3) = 13.
        CropBox d = rrc.fallback(400, 10);
        assertEquals(new CropBox(193, 0, 13, 10, 400, 10), d);
        assertArrayEquals(new float[] {193f / 400, 0f, 206f / 400, 1f}, d.normalized(), 1e-7f);
        assertThrows(IllegalArgumentException.class, () -> new RandomResizedCrop(0, 1, 0.75, 1.33));
        assertThrows(IllegalArgumentException.class, () -> new CropBox(0, 0, 10, 10, 5, 5));
    }

    @Test
    void colorJitterMatchesTheDefinitions() {
        int hw = 64;
        float[] img = new float[3 * hw];
        for (int i = 0; i < img.length; ++i) img[i] = (i * 37 % 101) / 100f;
        float[] ref = reference(img.clone(), hw, SampleRandom.of(5, 1, 2), 0.4f, 0.4f, 0.4f);
        new ColorJitter(0.4f, 0.4f, 0.4f).apply(img, 0, hw, SampleRandom.of(5, 1, 2));
        assertArrayEquals(ref, img, 1e-5f);
        for (float v : img) assertTrue(v >= 0 && v <= 1);
    }

    /** The torchvision formulas written out in double precision. */
    private static float[] reference(float[] img, int hw, SampleRandom r, float bs, float cs, float ss) {
        int[] order = r.permutation(3);
        double b = r.uniform(1 - bs, 1 + bs), c = r.uniform(1 - cs, 1 + cs), s = r.uniform(1 - ss, 1 + ss);
        for (int op : order) {
            if (op == 0) {
                for (int i = 0; i < img.length; ++i) img[i] = (float) Math.min(1, Math.max(0, img[i] * b));
            } else if (op == 1) {
                double mean = 0;
                for (int i = 0; i < hw; ++i) mean += 0.299 * img[i] + 0.587 * img[hw + i] + 0.114 * img[2 * hw + i];
                mean /= hw;
                for (int i = 0; i < img.length; ++i) img[i] = (float) Math.min(1, Math.max(0, img[i] * c + mean * (1 - c)));
            } else {
                for (int i = 0; i < hw; ++i) {
                    double g = 0.299 * img[i] + 0.587 * img[hw + i] + 0.114 * img[2 * hw + i];
                    for (int ch = 0; ch < 3; ++ch)
                        img[ch * hw + i] = (float) Math.min(1, Math.max(0, img[ch * hw + i] * s + g * (1 - s)));
                }
            }
        }
        return img;
    }

    @Test
    void lightingAddsThePrincipalComponents() {
        Lighting l = Lighting.imagenet(0.1f);
        float[] offsets = l.offsets(SampleRandom.of(3, 0, 9));
        SampleRandom r = SampleRandom.of(3, 0, 9);
        double[] alpha = {r.gaussian() * 0.1, r.gaussian() * 0.1, r.gaussian() * 0.1};
        for (int c = 0; c < 3; ++c) {
            double want = 0;
            for (int i = 0; i < 3; ++i) want += Lighting.IMAGENET_EIGVEC[c][i] * alpha[i] * Lighting.IMAGENET_EIGVAL[i];
            assertEquals(want, offsets[c], 1e-6);
        }
        float[] img = new float[3 * 4];
        l.apply(img, 0, 4, SampleRandom.of(3, 0, 9));
        for (int c = 0; c < 3; ++c) assertEquals(offsets[c], img[c * 4 + 2], 1e-7f);
        float[] none = new float[12];
        Lighting.imagenet(0).apply(none, 0, 4, SampleRandom.of(3, 0, 9));
        assertArrayEquals(new float[12], none);
    }

    @Test
    void normalizationIsPerChannel() {
        float[] img = {0.485f, 1f, 0.456f, 0f, 0.406f, 0.5f};
        Normalization.IMAGENET.apply(img, 0, 2);
        assertEquals(0, img[0], 1e-6);
        assertEquals((1 - 0.485f) / 0.229f, img[1], 1e-5);
        assertEquals(0, img[2], 1e-6);
        assertEquals(-0.456f / 0.224f, img[3], 1e-5);
        assertThrows(IllegalArgumentException.class, () -> new Normalization(new float[] {0, 0, 0}, new float[] {1, 0, 1}));
    }
}
