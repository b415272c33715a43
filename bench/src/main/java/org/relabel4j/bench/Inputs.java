package org.relabel4j.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * Benchmark inputs, generated like {@code shared/anchors/official_labelpool.py} (and native/bench/relabel_bench.cpp)
 * with fixed seeds: per cell k scores ~ N(0,1) + 6 sorted descending and k distinct class ids drawn uniformly from
 * [0, C) (the worst case for a sparse accumulator: ~315 distinct classes per crop); crop boxes (x1, y1, x2, y2)
 * normalized to the image with (y0, x0) ~ U(0, 0.5) and (h, w) ~ 0.2 + U(0, 0.5). Every benchmark of one job
 * (ours and the references) gets the same values; fp16 variants hold the same values rounded to fp16.
 */
public final class Inputs {
    public static final int CLASSES = 1000;
    public static final int K = 5;
    public static final int SIDE = 15;

    /** Seeds: the pooled batch, the store's records, the gathered record indices, the dense logits. */
    public static final long SEED_MAPS = 1, SEED_STORE = 2, SEED_RECORD_INDICES = 3, SEED_DENSE = 4, SEED_BOXES = 5;

    private Inputs() {}

    /**
     * A training set under {@code root} as the training benchmarks use it: {@code n} JPEGs of 400 x 300 in
     * {@code root/train} ({@link #writeJpegFolder}) and their label maps in {@code root/maps.rlm} (C=1000, k=5,
     * 15x15, fp16: per cell descending scores from 8, ids derived from the image's label), all drawn from one
     * generator seeded with {@code seed}. Returns the store's path.
     */
    public static Path writeTrainSet(Path root, int n, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        writeJpegFolder(root.resolve("train"), n, 400, 300, 8, rnd);
        Path maps = root.resolve("maps.rlm");
        Dataset ds = Datasets.open("imagefolder:" + root.resolve("train"));
        MapFormat f = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(maps, f, Map.of())) {
            for (int i = 0; i < ds.size(); ++i) {
                float[] scores = new float[5 * 225];
                int[] ids = new int[5 * 225];
                for (int cell = 0; cell < 225; ++cell) {
                    float v = 8;
                    for (int k = 0; k < 5; ++k) {
                        v -= (float) rnd.nextDouble();
                        scores[k * 225 + cell] = v;
                        ids[k * 225 + cell] = (ds.sample(i).label() * 97 + k * 13 + cell % 7) % 1000;
                    }
                }
                w.append(ds.sample(i).key(), scores, ids);
            }
            w.finish();
        }
        return maps;
    }

    /**
     * {@code n} JPEG images of {@code width x height} as an ImageFolder of 10 classes under {@code dir}
     * ({@code c<i % 10>/img<i>.jpg}): per image a random colour, a checkerboard of {@code check}-pixel squares and
     * per-pixel noise, so that decoding costs what a photo of that size costs; drawn from {@code rnd}.
     */
    public static void writeJpegFolder(Path dir, int n, int width, int height, int check, SplittableRandom rnd)
            throws IOException {
        for (int i = 0; i < n; ++i) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            int base = rnd.nextInt(1 << 24);
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    img.setRGB(x, y, base ^ (((x / check + y / check) & 1) * 0x404040) ^ rnd.nextInt(1 << 12));
            Path f = dir.resolve("c" + (i % 10) + "/img" + i + ".jpg");
            Files.createDirectories(f.getParent());
            ImageIO.write(img, "jpg", f.toFile());
        }
    }

    /** A batch of top-k maps {@code [B,k,H,W]} (flat, C order) and boxes {@code [B,4]}. */
    public record Maps(int batch, int k, int height, int width, int classes, float[] scores, int[] ids,
            float[] boxes) {
        public long[] mapShape() {
            return new long[] {batch, k, height, width};
        }

        /** Scores as float32 or float16 (rounded to nearest even). */
        public NdArray scores(DType type) {
            if (type == DType.FLOAT32) return NdArray.of(scores, mapShape());
            if (type != DType.FLOAT16) throw new IllegalArgumentException("scores: " + type);
            NdArray a = NdArray.zeros(DType.FLOAT16, mapShape());
            ByteBuffer b = a.buffer();
            for (int i = 0; i < scores.length; ++i) b.putShort(2 * i, Half.fromFloat(scores[i]));
            return a;
        }

        /** Class ids as uint16 or int32. */
        public NdArray ids(DType type) {
            if (type == DType.INT32) return NdArray.of(ids, mapShape());
            if (type != DType.UINT16) throw new IllegalArgumentException("ids: " + type);
            NdArray a = NdArray.zeros(DType.UINT16, mapShape());
            ByteBuffer b = a.buffer();
            for (int i = 0; i < ids.length; ++i) b.putShort(2 * i, (short) ids[i]);
            return a;
        }

        public NdArray boxesArray() {
            return NdArray.of(boxes, batch, 4);
        }
    }

    /** {@code batch} ImageNet-like maps (k=5, 15x15, C=1000) and crop boxes. */
    public static Maps maps(int batch, long seed) {
        return maps(batch, K, SIDE, CLASSES, seed);
    }

    public static Maps maps(int batch, int k, int side, int classes, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int hw = side * side;
        float[] scores = new float[batch * k * hw];
        int[] ids = new int[batch * k * hw];
        float[] mapScores = new float[k * hw];
        int[] mapIds = new int[k * hw];
        for (int b = 0; b < batch; ++b) {
            fillMap(rng, k, hw, classes, mapScores, mapIds);
            System.arraycopy(mapScores, 0, scores, b * k * hw, k * hw);
            System.arraycopy(mapIds, 0, ids, b * k * hw, k * hw);
        }
        return new Maps(batch, k, side, side, classes, scores, ids, boxes(batch, rng));
    }

    /** One map {@code [k, hw]}: per cell k sorted N(0,1)+6 scores and k distinct ids. */
    public static void fillMap(SplittableRandom rng, int k, int hw, int classes, float[] scores, int[] ids) {
        float[] cell = new float[k];
        int[] pick = new int[k];
        for (int l = 0; l < hw; ++l) {
            for (int j = 0; j < k; ++j) cell[j] = (float) rng.nextGaussian() + 6f;
            java.util.Arrays.sort(cell);  // ascending; written back reversed
            int n = 0;
            while (n < k) {
                int c = rng.nextInt(classes);
                boolean seen = false;
                for (int j = 0; j < n; ++j) seen |= pick[j] == c;
                if (!seen) pick[n++] = c;
            }
            for (int j = 0; j < k; ++j) {
                scores[j * hw + l] = cell[k - 1 - j];
                ids[j * hw + l] = pick[j];
            }
        }
    }

    /** {@code batch} crop boxes (x1, y1, x2, y2), normalized. */
    public static float[] boxes(int batch, SplittableRandom rng) {
        float[] boxes = new float[batch * 4];
        for (int b = 0; b < batch; ++b) {
            float y0 = rng.nextFloat() * 0.5f, x0 = rng.nextFloat() * 0.5f;
            float h = 0.2f + rng.nextFloat() * 0.5f, w = 0.2f + rng.nextFloat() * 0.5f;
            boxes[4 * b] = x0;
            boxes[4 * b + 1] = y0;
            boxes[4 * b + 2] = x0 + w;
            boxes[4 * b + 3] = y0 + h;
        }
        return boxes;
    }

    /** {@code count} record numbers drawn uniformly from [0, records). */
    public static long[] recordIndices(int count, long records, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long[] idx = new long[count];
        for (int i = 0; i < count; ++i) idx[i] = rng.nextLong(records);
        return idx;
    }

    /** Dense logits {@code [B,C,H,W]} ~ 3 N(0,1), as float32 or float16. */
    public static NdArray dense(int batch, int classes, int side, DType type, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long n = (long) batch * classes * side * side;
        NdArray a = NdArray.zeros(type, batch, classes, side, side);
        ByteBuffer b = a.buffer();
        for (int i = 0; i < n; ++i) {
            float v = (float) rng.nextGaussian() * 3f;
            if (type == DType.FLOAT32) b.putFloat(4 * i, v);
            else if (type == DType.FLOAT16) b.putShort(2 * i, Half.fromFloat(v));
            else throw new IllegalArgumentException("dense: " + type);
        }
        return a;
    }

    /**
     * The least bytes a LabelPooling batch must move: the float32 output ({@code B*C*S*S*4}) plus the k entries
     * (score + id) of every cell a crop samples, estimated per box as {@code min(w*W + 2, W) * min(h*H + 2, H)}
     * cells (the same estimate as relabel_bench). Record layouts read whole cache lines; this ignores that.
     */
    public static double poolBytes(Maps m, int outputSize, int scoreBytes, int idBytes) {
        double cells = 0;
        for (int b = 0; b < m.batch(); ++b) {
            double w = (m.boxes()[4 * b + 2] - m.boxes()[4 * b]) * m.width() + 2;
            double h = (m.boxes()[4 * b + 3] - m.boxes()[4 * b + 1]) * m.height() + 2;
            cells += Math.min(w, m.width()) * Math.min(h, m.height());
        }
        return (double) m.batch() * m.classes() * outputSize * outputSize * 4 + cells * m.k() * (scoreBytes + idBytes);
    }
}
