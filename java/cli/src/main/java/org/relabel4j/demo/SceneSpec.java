package org.relabel4j.demo;

import java.util.Locale;

/**
 * How multi-object scenes are built from Fashion-MNIST items: a square gray canvas of {@code canvas} pixels holds
 * {@code minItems..maxItems} items (uniform), each resized to a square of side {@code minScale..maxScale} times the
 * canvas (uniform), at a uniform position inside the canvas. Items may overlap, but no item's box may be covered by
 * more than {@code maxOverlap} of its area by another item's box (rejection sampling). Overlapping ink is combined
 * with max(), each pixel showing the item with the most ink there. The scene's single label is its largest item: the
 * one that shows the most ink in the picture (so a thin trouser in a big box is not "larger" than a coat); with
 * {@code dominance} above 1 it shows at least that many times the ink of the second (as an ImageNet label names the
 * main object rather than one of several equals).
 */
public record SceneSpec(int canvas, int minItems, int maxItems, double minScale, double maxScale, double maxOverlap,
        double dominance) {
    public SceneSpec {
        if (canvas < 16 || canvas > 1024) throw new IllegalArgumentException("--canvas must be in 16..1024, got " + canvas);
        if (minItems < 1 || maxItems < minItems || maxItems > 16)
            throw new IllegalArgumentException("--items must be A-B with 1 <= A <= B <= 16, got " + minItems + "-" + maxItems);
        if (!(minScale > 0) || !(maxScale <= 1) || minScale > maxScale || minScale * canvas < 4)
            throw new IllegalArgumentException("--scale must be A-B with 0 < A <= B <= 1 and items at least 4 px wide, got "
                    + minScale + "-" + maxScale + " on a " + canvas + " px canvas");
        if (!(maxOverlap >= 0 && maxOverlap <= 1))
            throw new IllegalArgumentException("--max-overlap must be in [0, 1], got " + maxOverlap);
        if (!(dominance >= 1 && dominance <= 10))
            throw new IllegalArgumentException("--dominance must be in [1, 10] (the largest item's ink / the second's), got "
                    + dominance);
    }

    /** The defaults, chosen on validation scenes (docs/demo.md). */
    public static SceneSpec defaults() {
        return new SceneSpec(48, 2, 4, 0.25, 0.625, 0.5, 1.0);
    }

    /** A stable text form: part of cache keys and of the report. */
    public String describe() {
        return String.format(Locale.ROOT, "canvas %d px, %d-%d items, side %.3g-%.3g of the canvas, overlap <= %.2f, "
                + "dominance %.2f", canvas, minItems, maxItems, minScale, maxScale, maxOverlap, dominance);
    }

    /** Parses "A-B" (or "A") into two numbers. */
    public static double[] range(String option, String text) {
        String[] p = text.trim().split("-", -1);
        try {
            if (p.length == 1) return new double[] {Double.parseDouble(p[0]), Double.parseDouble(p[0])};
            if (p.length == 2) return new double[] {Double.parseDouble(p[0]), Double.parseDouble(p[1])};
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(option + " must be A-B (e.g. 2-4), got '" + text + "'");
    }
}
