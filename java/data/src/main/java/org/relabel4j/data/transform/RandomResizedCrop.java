package org.relabel4j.data.transform;

/**
 * torchvision's {@code RandomResizedCrop.get_params}: up to 10 attempts at an area fraction uniform in
 * [scaleMin, scaleMax] and a log-uniform aspect ratio in [ratioMin, ratioMax] (sizes rounded half to even, as
 * Python's round), then the central crop clamped to the ratio range. Returns the crop in image pixels; the caller
 * resizes it to the output size.
 */
public final class RandomResizedCrop {
    private final double scaleMin, scaleMax, logRatioMin, logRatioMax, ratioMin, ratioMax;

    /**
     * torchvision's RandomResizedCrop parameters: area scale in [scaleMin, scaleMax], aspect ratio in [ratioMin,
     * ratioMax] (log-uniform).
     */
    public RandomResizedCrop(double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
        if (!(scaleMin > 0 && scaleMin <= scaleMax && scaleMax <= 1))
            throw new IllegalArgumentException("scale must satisfy 0 < min <= max <= 1, got (" + scaleMin + ", " + scaleMax + ")");
        if (!(ratioMin > 0 && ratioMin <= ratioMax))
            throw new IllegalArgumentException("ratio must satisfy 0 < min <= max, got (" + ratioMin + ", " + ratioMax + ")");
        this.scaleMin = scaleMin;
        this.scaleMax = scaleMax;
        this.ratioMin = ratioMin;
        this.ratioMax = ratioMax;
        this.logRatioMin = Math.log(ratioMin);
        this.logRatioMax = Math.log(ratioMax);
    }

    /** The ImageNet defaults: scale (0.08, 1), ratio (3/4, 4/3). */
    public static RandomResizedCrop imagenet() {
        return new RandomResizedCrop(0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    }

    /**
     * A crop of a {@code width} x {@code height} image, drawn as torchvision draws it (10 tries, then a center crop).
     */
    public CropBox sample(int width, int height, SampleRandom r) {
        double area = (double) width * height;
        for (int attempt = 0; attempt < 10; ++attempt) {
            double targetArea = area * r.uniform(scaleMin, scaleMax);
            double aspect = Math.exp(r.uniform(logRatioMin, logRatioMax));
            int w = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int h = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height) {
                int y = r.nextInt(height - h + 1);
                int x = r.nextInt(width - w + 1);
                return new CropBox(x, y, w, h, width, height);
            }
        }
        return fallback(width, height);
    }

    /** The central crop torchvision falls back to after 10 failed attempts. */
    CropBox fallback(int width, int height) {
        double inRatio = (double) width / height;
        int w, h;
        if (inRatio < ratioMin) {
            w = width;
            h = (int) Math.rint(w / ratioMin);
        } else if (inRatio > ratioMax) {
            h = height;
            w = (int) Math.rint(h * ratioMax);
        } else {
            w = width;
            h = height;
        }
        w = Math.max(1, Math.min(w, width));
        h = Math.max(1, Math.min(h, height));
        return new CropBox((width - w) / 2, (height - h) / 2, w, h, width, height);
    }
}
