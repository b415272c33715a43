package org.relabel4j.data.transform;

/**
 * AlexNet-style PCA lighting noise, as the released ReLabel training applies it (after ToTensor, before Normalize):
 * alpha ~ N(0, alphaStd) per principal component, and every pixel gets {@code eigvec * (alpha * eigval)} added.
 */
public final class Lighting {
    /** ImageNet's RGB eigenvalues and eigenvectors (columns), as used by the released code. */
    public static final float[] IMAGENET_EIGVAL = {0.2175f, 0.0188f, 0.0045f};
    /** The eigenvectors of ImageNet's RGB covariance (AlexNet PCA lighting). */
    public static final float[][] IMAGENET_EIGVEC = {
        {-0.5675f, 0.7192f, 0.4009f},
        {-0.5808f, -0.0045f, -0.8140f},
        {-0.5836f, -0.6948f, 0.4203f},
    };

    private final float alphaStd;
    private final float[] eigval;
    private final float[][] eigvec;

    /** PCA lighting noise: per image alpha ~ N(0, alphaStd) per component of {@code eigval}/{@code eigvec}. */
    public Lighting(float alphaStd, float[] eigval, float[][] eigvec) {
        if (alphaStd < 0) throw new IllegalArgumentException("alphaStd must be >= 0, got " + alphaStd);
        this.alphaStd = alphaStd;
        this.eigval = eigval.clone();
        this.eigvec = new float[][] {eigvec[0].clone(), eigvec[1].clone(), eigvec[2].clone()};
    }

    /** PCA lighting with ImageNet's eigenvalues and eigenvectors. */
    public static Lighting imagenet(float alphaStd) {
        return new Lighting(alphaStd, IMAGENET_EIGVAL, IMAGENET_EIGVEC);
    }

    /** The per-channel offsets this sample gets. */
    float[] offsets(SampleRandom r) {
        float[] alpha = new float[3];
        for (int i = 0; i < 3; ++i) alpha[i] = (float) (r.gaussian() * alphaStd);
        float[] rgb = new float[3];
        for (int c = 0; c < 3; ++c) {
            for (int i = 0; i < 3; ++i) rgb[c] += eigvec[c][i] * alpha[i] * eigval[i];
        }
        return rgb;
    }

    /** Adds the noise to img (3 planes of hw floats at offset) in place. */
    public void apply(float[] img, int offset, int hw, SampleRandom r) {
        if (alphaStd == 0) return;
        float[] rgb = offsets(r);
        for (int c = 0; c < 3; ++c) {
            float add = rgb[c];
            for (int i = offset + c * hw; i < offset + (c + 1) * hw; ++i) img[i] += add;
        }
    }
}
