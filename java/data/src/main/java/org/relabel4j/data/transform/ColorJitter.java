package org.relabel4j.data.transform;

/**
 * torchvision's {@code ColorJitter(brightness, contrast, saturation)} on float RGB in [0, 1] (CHW): factors
 * uniform in [max(0, 1 - x), 1 + x], applied in a random order; brightness scales, contrast blends with the mean
 * of the grayscale image, saturation blends with the per-pixel grayscale (ITU-R 601-2 luma: 0.299 R + 0.587 G +
 * 0.114 B), each clamped to [0, 1]. (Hue jitter is not offered: ReLabel's recipe does not use it.)
 */
public final class ColorJitter {
    private final float brightness, contrast, saturation;

    /** Factors drawn uniformly from [1 - x, 1 + x] for each of brightness, contrast and saturation (0 leaves it). */
    public ColorJitter(float brightness, float contrast, float saturation) {
        if (brightness < 0 || contrast < 0 || saturation < 0)
            throw new IllegalArgumentException("jitter strengths must be >= 0, got " + brightness + ", " + contrast + ", "
                    + saturation);
        this.brightness = brightness;
        this.contrast = contrast;
        this.saturation = saturation;
    }

    /** Jitters img (3 planes of hw floats at offset) in place. */
    public void apply(float[] img, int offset, int hw, SampleRandom r) {
        // torchvision draws the order first, then one factor per enabled transform, in the fixed order b, c, s.
        int[] order = r.permutation(3);
        float b = brightness > 0 ? (float) r.uniform(Math.max(0, 1 - brightness), 1 + brightness) : 1f;
        float c = contrast > 0 ? (float) r.uniform(Math.max(0, 1 - contrast), 1 + contrast) : 1f;
        float s = saturation > 0 ? (float) r.uniform(Math.max(0, 1 - saturation), 1 + saturation) : 1f;
        for (int op : order) {
            switch (op) {
                case 0 -> {
                    if (brightness > 0) brightness(img, offset, hw, b);
                }
                case 1 -> {
                    if (contrast > 0) contrast(img, offset, hw, c);
                }
                default -> {
                    if (saturation > 0) saturation(img, offset, hw, s);
                }
            }
        }
    }

    static void brightness(float[] img, int offset, int hw, float f) {
        for (int i = offset; i < offset + 3 * hw; ++i) img[i] = clamp(img[i] * f);
    }

    static void contrast(float[] img, int offset, int hw, float f) {
        double sum = 0;
        for (int i = 0; i < hw; ++i) sum += gray(img, offset, hw, i);
        float mean = (float) (sum / hw), shift = mean * (1 - f);
        for (int i = offset; i < offset + 3 * hw; ++i) img[i] = clamp(img[i] * f + shift);
    }

    static void saturation(float[] img, int offset, int hw, float f) {
        final int r = offset, g = offset + hw, b = offset + 2 * hw;
        final float keep = 1 - f;
        for (int i = 0; i < hw; ++i) {
            float gray = (0.299f * img[r + i] + 0.587f * img[g + i] + 0.114f * img[b + i]) * keep;
            img[r + i] = clamp(img[r + i] * f + gray);
            img[g + i] = clamp(img[g + i] * f + gray);
            img[b + i] = clamp(img[b + i] * f + gray);
        }
    }

    private static float gray(float[] img, int offset, int hw, int i) {
        return 0.299f * img[offset + i] + 0.587f * img[offset + hw + i] + 0.114f * img[offset + 2 * hw + i];
    }

    private static float clamp(float v) {
        return Math.min(1f, Math.max(0f, v));  // min/max intrinsics: the loops stay branch-free and vectorize
    }
}
