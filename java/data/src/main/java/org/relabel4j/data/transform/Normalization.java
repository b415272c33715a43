package org.relabel4j.data.transform;

/** Per-channel (x - mean) / std on float RGB in [0, 1]. */
public record Normalization(float[] mean, float[] std) {
    /** ImageNet's mean and standard deviation. */
    public static final Normalization IMAGENET =
            new Normalization(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});

    /** Checks 3 means and 3 positive standard deviations. */
    public Normalization {
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("mean and std need 3 values");
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("std must be > 0, got " + s);
    }

    /** Normalizes the CHW image of {@code hw} pixels per channel at {@code offset} of {@code img} in place. */
    public void apply(float[] img, int offset, int hw) {
        for (int c = 0; c < 3; ++c) {
            float m = mean[c], inv = 1f / std[c];
            for (int i = offset + c * hw; i < offset + (c + 1) * hw; ++i) img[i] = (img[i] - m) * inv;
        }
    }
}
