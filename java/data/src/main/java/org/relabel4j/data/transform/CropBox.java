package org.relabel4j.data.transform;

/**
 * A crop of an image, in pixels of the full image: top-left (x, y), size width x height, inside an image of
 * imageWidth x imageHeight. {@link #normalized()} is the box the label maps are pooled over.
 */
public record CropBox(int x, int y, int width, int height, int imageWidth, int imageHeight) {
    /**
     * A crop (x, y, width, height) in pixels of an {@code imageWidth} x {@code imageHeight} image; checked to be
     * non-empty and inside it.
     */
    public CropBox {
        if (width <= 0 || height <= 0 || x < 0 || y < 0 || x + width > imageWidth || y + height > imageHeight)
            throw new IllegalArgumentException("crop (" + x + ", " + y + ", " + width + "x" + height + ") is outside the "
                    + imageWidth + "x" + imageHeight + " image");
    }

    /** (x1, y1, x2, y2) normalized to the whole image: LabelPooling's box convention. */
    public float[] normalized() {
        return new float[] {(float) x / imageWidth, (float) y / imageHeight, (float) (x + width) / imageWidth,
                (float) (y + height) / imageHeight};
    }
}
