package org.relabel4j.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.relabel4j.data.CocoDataset;
import org.relabel4j.data.CocoDataset.Instance;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * Oracle label maps from ground-truth instance masks ({@code relabel annotate --oracle coco:...}; the paper's
 * "oracle" LabelPooling of its COCO table): each image's instances are rasterized at the image's resolution
 * (polygons: the pixels whose centre lies inside, even-odd rule; RLE, uncompressed or COCO's compressed string,
 * column-major as COCO stores it; the box when an instance has no segmentation), the masks of one class are
 * united, and each cell of an H x W grid over the image gets, per class, the fraction of its pixels covered (a
 * pixel belongs to the cell its centre falls in). The top-k classes of each cell by covered fraction (ties: the
 * lower class id; slots beyond the present classes hold covered fraction 0) are written as a label-map store like
 * a teacher's, so {@code train.task: multilabel} with {@code data.relabel.multilabel_target: value} trains on the
 * covered fraction of every crop.
 */
public final class OracleMaps {
    private OracleMaps() {}

    /** What {@link #write} did. */
    public record Summary(Path store, long images, long instances, MapFormat format, double seconds) {
        public double imagesPerSecond() {
            return images / Math.max(seconds, 1e-9);
        }
    }

    /**
     * Writes the oracle maps of every image of {@code dataset} (opened with its annotations) to a new store at
     * {@code out} ({@code side} x {@code side} cells, {@code k} classes per cell), atomically: a failure leaves no
     * store. An image whose size the JSON does not give, or whose RLE size disagrees with it, is an error naming it.
     */
    public static Summary write(CocoDataset dataset, Path out, int side, int k, DType scoreType, Map<String, ?> metadata,
            Consumer<Integer> progress) throws IOException {
        int classes = dataset.classes().size();
        if (side < 1 || side > MapFormat.MAX_SIDE) throw new IllegalArgumentException("--map-size must be in [1, "
                + MapFormat.MAX_SIDE + "], got " + side);
        if (k < 1 || k > Math.min(classes, MapFormat.MAX_K))
            throw new IllegalArgumentException("--k must be in [1, " + Math.min(classes, MapFormat.MAX_K) + "], got " + k);
        MapFormat format = new MapFormat(classes, k, side, side, scoreType, MapFormat.indexTypeFor(classes));
        Map<String, Object> meta = new LinkedHashMap<>(metadata);
        meta.put("teacher", "oracle: covered fraction of the instance masks of " + dataset.instancesFile());
        meta.put("oracle", true);
        long t0 = System.nanoTime(), instances = 0;
        float[] scores = new float[k * side * side];
        int[] ids = new int[k * side * side];
        LabelMapStoreWriter w = LabelMapStoreWriter.create(out, format, meta);
        try {
            for (int i = 0; i < dataset.size(); ++i) {
                int[] size = dataset.declaredSize(i);
                String where = dataset.instancesFile() + ": image " + dataset.imageId(i) + " (" + dataset.sample(i).origin() + ")";
                if (size[0] < 1 || size[1] < 1) throw new IllegalArgumentException(where + ": no width/height in the JSON");
                List<Instance> list = dataset.annotations(i);
                instances += list.size();
                float[] cover = coverage(list, classes, size[0], size[1], side, side, where);
                topK(cover, classes, side * side, k, scores, ids);
                w.append(dataset.sample(i).key(), scores, ids);
                if (progress != null) progress.accept(i + 1);
            }
            w.finish();
        } catch (IOException | RuntimeException | Error e) {
            try {
                w.abort();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return new Summary(out, dataset.size(), instances, format, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Covered fraction {@code [classes][gh][gw]} (flattened) of the instances of one image of {@code width} x
     * {@code height} pixels: per class the union of its masks, per cell the fraction of the cell's pixels in it.
     * The grid must not be finer than the image.
     */
    public static float[] coverage(List<Instance> instances, int classes, int width, int height, int gh, int gw,
            String where) {
        if (gw > width || gh > height)
            throw new IllegalArgumentException(where + ": the " + gw + "x" + gh + " grid is finer than the image ("
                    + width + "x" + height + ")");
        int[] cellX = new int[width], cellY = new int[height];
        for (int x = 0; x < width; ++x) cellX[x] = (int) Math.floor((x + 0.5) * gw / width);
        for (int y = 0; y < height; ++y) cellY[y] = (int) Math.floor((y + 0.5) * gh / height);
        int[] cellPixels = new int[gh * gw];
        for (int y = 0; y < height; ++y) for (int x = 0; x < width; ++x) cellPixels[cellY[y] * gw + cellX[x]]++;
        float[] out = new float[classes * gh * gw];
        boolean[][] masks = new boolean[classes][];
        int[][] extents = new int[classes][];  // per class the pixel rectangle its instances can cover (x0, y0, x1, y1)
        for (Instance in : instances) {
            int c = in.category();
            if (masks[c] == null) {
                masks[c] = new boolean[width * height];
                extents[c] = new int[] {width, height, -1, -1};
            }
            fill(in, width, height, where, masks[c]);
            int[] e = extent(in, width, height), u = extents[c];
            u[0] = Math.min(u[0], e[0]);
            u[1] = Math.min(u[1], e[1]);
            u[2] = Math.max(u[2], e[2]);
            u[3] = Math.max(u[3], e[3]);
        }
        int[] counts = new int[gh * gw];
        for (int c = 0; c < classes; ++c) {
            if (masks[c] == null) continue;
            Arrays.fill(counts, 0);
            boolean[] m = masks[c];
            int[] e = extents[c];
            for (int y = e[1]; y <= e[3]; ++y)
                for (int x = e[0]; x <= e[2]; ++x)
                    if (m[y * width + x]) counts[cellY[y] * gw + cellX[x]]++;
            for (int cell = 0; cell < gh * gw; ++cell) out[c * gh * gw + cell] = (float) counts[cell] / cellPixels[cell];
        }
        return out;
    }

    /** The pixel rectangle (x0, y0, x1, y1, inclusive, clipped) that contains every pixel {@link #fill} may set. */
    static int[] extent(Instance in, int width, int height) {
        JsonNode seg = in.segmentation();
        if (seg != null && !seg.isArray()) return new int[] {0, 0, width - 1, height - 1};  // RLE
        double minX = Double.POSITIVE_INFINITY, minY = minX, maxX = Double.NEGATIVE_INFINITY, maxY = maxX;
        if (seg == null) {
            double[] b = in.bbox();
            minX = b[0];
            minY = b[1];
            maxX = b[0] + b[2];
            maxY = b[1] + b[3];
        } else {
            for (JsonNode poly : seg)
                for (int j = 0; j + 1 < poly.size(); j += 2) {
                    double x = poly.get(j).asDouble(), y = poly.get(j + 1).asDouble();
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
        }
        return new int[] {(int) Math.max(0, Math.floor(minX - 1)), (int) Math.max(0, Math.floor(minY - 1)),
                (int) Math.min(width - 1, Math.ceil(maxX + 1)), (int) Math.min(height - 1, Math.ceil(maxY + 1))};
    }

    /** The mask (row-major, {@code height * width}) of one instance: its segmentation, else its box. */
    public static boolean[] mask(Instance in, int width, int height, String where) {
        boolean[] m = new boolean[width * height];
        fill(in, width, height, where, m);
        return m;
    }

    /** Sets the pixels of one instance in {@code m} (row-major), leaving the others as they are. */
    static void fill(Instance in, int width, int height, String where, boolean[] m) {
        JsonNode seg = in.segmentation();
        if (seg == null) {
            double[] b = in.bbox();
            fillPolygon(new double[] {b[0], b[1], b[0] + b[2], b[1], b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]}, width, height, m);
            return;
        }
        if (seg.isArray()) {
            for (JsonNode poly : seg) {
                if (!poly.isArray() || poly.size() < 6 || poly.size() % 2 != 0)
                    throw new IllegalArgumentException(where + ": a polygon needs an even number >= 6 of coordinates, got "
                            + poly.size());
                double[] xy = new double[poly.size()];
                for (int j = 0; j < xy.length; ++j) xy[j] = poly.get(j).asDouble();
                fillPolygon(xy, width, height, m);
            }
            return;
        }
        if (seg.isObject() && seg.has("size") && seg.has("counts")) {
            JsonNode size = seg.get("size");
            int h = size.get(0).asInt(), w = size.get(1).asInt();
            if (h != height || w != width)
                throw new IllegalArgumentException(where + ": RLE size [" + h + ", " + w + "] is not the image's ["
                        + height + ", " + width + "]");
            JsonNode counts = seg.get("counts");
            long[] runs;
            if (counts.isTextual()) runs = decodeRleString(counts.asText());
            else {
                runs = new long[counts.size()];
                for (int j = 0; j < runs.length; ++j) runs[j] = counts.get(j).asLong();
            }
            boolean[] r = rle(runs, width, height, where);
            for (int q = 0; q < m.length; ++q) m[q] |= r[q];
            return;
        }
        throw new IllegalArgumentException(where + ": segmentation is neither polygons nor RLE {size, counts}");
    }

    /** Pixels whose centre lies inside the polygon {@code x0, y0, x1, y1, ...} (even-odd rule). */
    public static boolean[] polygon(double[] xy, int width, int height) {
        boolean[] m = new boolean[width * height];
        fillPolygon(xy, width, height, m);
        return m;
    }

    /** Sets the pixels of {@link #polygon} in {@code m}; only the rows the polygon spans are visited. */
    static void fillPolygon(double[] xy, int width, int height, boolean[] m) {
        int n = xy.length / 2;
        double[] xs = new double[n];
        double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; ++i) {
            minY = Math.min(minY, xy[2 * i + 1]);
            maxY = Math.max(maxY, xy[2 * i + 1]);
        }
        int y0 = (int) Math.max(0, Math.floor(minY - 0.5)), y1 = (int) Math.min(height - 1, Math.ceil(maxY));
        for (int y = y0; y <= y1; ++y) {
            double yc = y + 0.5;
            int found = 0;
            for (int i = 0, j = n - 1; i < n; j = i++) {
                double yi = xy[2 * i + 1], yj = xy[2 * j + 1];
                if ((yi > yc) != (yj > yc)) {
                    double xi = xy[2 * i], xj = xy[2 * j];
                    xs[found++] = xi + (yc - yi) * (xj - xi) / (yj - yi);
                }
            }
            Arrays.sort(xs, 0, found);
            for (int p = 0; p + 1 < found; p += 2) {
                // pixel x is inside when xs[p] <= x + 0.5 < xs[p + 1]
                int from = Math.max(0, (int) Math.ceil(xs[p] - 0.5)), to = Math.min(width - 1, (int) Math.ceil(xs[p + 1] - 0.5) - 1);
                for (int x = from; x <= to; ++x) m[y * width + x] = true;
            }
        }
    }

    /** The pixels of box (x, y, w, h) by their centres. */
    public static boolean[] box(double[] bbox, int width, int height) {
        double x1 = bbox[0], y1 = bbox[1], x2 = bbox[0] + bbox[2], y2 = bbox[1] + bbox[3];
        return polygon(new double[] {x1, y1, x2, y1, x2, y2, x1, y2}, width, height);
    }

    /** An RLE of alternating runs (0s first), column-major over {@code height x width}, as a row-major mask. */
    public static boolean[] rle(long[] runs, int width, int height, String where) {
        boolean[] m = new boolean[width * height];
        long total = (long) width * height, pos = 0;
        for (int r = 0; r < runs.length; ++r) {
            if (runs[r] < 0 || pos + runs[r] > total)
                throw new IllegalArgumentException(where + ": RLE run " + r + " (" + runs[r] + ") is negative or runs past "
                        + total + " pixels");
            if (r % 2 == 1)
                for (long p = pos; p < pos + runs[r]; ++p) {
                    int x = (int) (p / height), y = (int) (p % height);
                    m[y * width + x] = true;
                }
            pos += runs[r];
        }
        return m;
    }

    /** COCO's compressed RLE string (pycocotools rleFrString): 6-bit chunks from '0', deltas from the run two back. */
    public static long[] decodeRleString(String s) {
        long[] counts = new long[Math.max(1, s.length())];
        int m = 0, p = 0;
        while (p < s.length()) {
            long x = 0;
            int k = 0;
            boolean more = true;
            while (more) {
                if (p >= s.length()) throw new IllegalArgumentException("truncated RLE string");
                int c = s.charAt(p) - 48;
                if (c < 0 || c > 63) throw new IllegalArgumentException("bad character '" + s.charAt(p) + "' in an RLE string");
                x |= (long) (c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (m > 2) x += counts[m - 2];
            counts[m++] = x;
        }
        return Arrays.copyOf(counts, m);
    }

    /**
     * Per cell the k classes of largest covered fraction ({@code cover} [classes][cells]) into {@code scores} and
     * {@code ids} ([k][cells]): larger first, ties by the lower class id.
     */
    public static void topK(float[] cover, int classes, int cells, int k, float[] scores, int[] ids) {
        boolean[] taken = new boolean[classes];
        for (int cell = 0; cell < cells; ++cell) {
            Arrays.fill(taken, false);
            for (int j = 0; j < k; ++j) {
                int best = -1;
                for (int c = 0; c < classes; ++c)
                    if (!taken[c] && (best < 0 || cover[c * cells + cell] > cover[best * cells + cell])) best = c;
                taken[best] = true;
                scores[j * cells + cell] = cover[best * cells + cell];
                ids[j * cells + cell] = best;
            }
        }
    }

    /** "12 images, 40 instances -> out.rlm (format) in 0.1 s: 120.0 images/s". */
    public static String describe(Summary s) {
        return String.format(Locale.ROOT, "oracle maps of %d images, %d instances -> %s (%s) in %.2f s: %.1f images/s",
                s.images(), s.instances(), s.store(), s.format(), s.seconds(), s.imagesPerSecond());
    }
}
