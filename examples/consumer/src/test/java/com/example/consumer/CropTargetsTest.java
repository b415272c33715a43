package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;

/**
 * The consumer's check: targets from the store equal this file's own roi_align (torchvision semantics, aligned=False,
 * sampling_ratio=-1, output 1x1) of the dense maps, and the classpath holds relabel4j-core, JavaCPP and Jackson only.
 */
class CropTargetsTest {
    static final int CLASSES = 12, K = 3, H = 7, W = 7;

    @TempDir Path tmp;

    /** Dense [C][H][W] of a top-k map: the score where the class is among the top-k, else 0. */
    static float[][][] dense(CropTargets.TopKMap m) {
        float[][][] d = new float[CLASSES][H][W];
        for (int j = 0; j < K; ++j)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) d[m.ids()[(j * H + y) * W + x]][y][x] = m.scores()[(j * H + y) * W + x];
        return d;
    }

    /** torchvision.ops.roi_align's bilinear sample (zero outside [-1, size]). */
    static double bilinear(float[][] map, double y, double x) {
        if (y < -1.0 || y > H || x < -1.0 || x > W) return 0;
        y = Math.max(y, 0);
        x = Math.max(x, 0);
        int yl = (int) y, xl = (int) x, yh, xh;
        if (yl >= H - 1) { yh = yl = H - 1; y = yl; } else yh = yl + 1;
        if (xl >= W - 1) { xh = xl = W - 1; x = xl; } else xh = xl + 1;
        double ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
        return hy * hx * map[yl][xl] + hy * lx * map[yl][xh] + ly * hx * map[yh][xl] + ly * lx * map[yh][xh];
    }

    /** roi_align(dense, box * size - 0.5, output 1x1, spatial_scale 1, sampling_ratio -1, aligned False). */
    static double[] roiAlign(float[][][] d, float[] box) {
        double x1 = box[0] * W - 0.5, y1 = box[1] * H - 0.5, x2 = box[2] * W - 0.5, y2 = box[3] * H - 0.5;
        double rw = Math.max(x2 - x1, 1), rh = Math.max(y2 - y1, 1);
        int gh = (int) Math.ceil(rh), gw = (int) Math.ceil(rw);
        double[] out = new double[CLASSES];
        for (int c = 0; c < CLASSES; ++c) {
            double sum = 0;
            for (int iy = 0; iy < gh; ++iy)
                for (int ix = 0; ix < gw; ++ix)
                    sum += bilinear(d[c], y1 + (iy + 0.5) * rh / gh, x1 + (ix + 0.5) * rw / gw);
            out[c] = sum / Math.max(gh * gw, 1);
        }
        return out;
    }

    static CropTargets.TopKMap randomMap(Random rnd, String key) {
        float[] scores = new float[K * H * W];
        int[] ids = new int[K * H * W];
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                List<Integer> classes = new ArrayList<>();
                for (int c = 0; c < CLASSES; ++c) classes.add(c);
                java.util.Collections.shuffle(classes, rnd);
                float s = 2 + 4 * rnd.nextFloat();
                for (int j = 0; j < K; ++j) {
                    ids[(j * H + y) * W + x] = classes.get(j);
                    scores[(j * H + y) * W + x] = s;
                    s -= 0.1f + rnd.nextFloat();  // descending, as a teacher's top-k
                }
            }
        return new CropTargets.TopKMap(key, scores, ids);
    }

    @Test
    void targetsFromTheStoreMatchAnIndependentRoiAlign() throws Exception {
        Random rnd = new Random(7);
        List<CropTargets.TopKMap> maps = new ArrayList<>();
        for (int i = 0; i < 6; ++i) maps.add(randomMap(rnd, "train/img" + i));
        Path store = tmp.resolve("maps.rlm");
        CropTargets.writeStore(store, new MapFormat(CLASSES, K, H, W, DType.FLOAT32, DType.INT32), maps);

        List<String> keys = new ArrayList<>();
        float[][] boxes = new float[16][];
        for (int i = 0; i < boxes.length; ++i) {
            keys.add(maps.get(rnd.nextInt(maps.size())).key());
            float x1 = 0.6f * rnd.nextFloat(), y1 = 0.6f * rnd.nextFloat();
            boxes[i] = new float[] {x1, y1, x1 + 0.1f + 0.3f * rnd.nextFloat(), y1 + 0.1f + 0.3f * rnd.nextFloat()};
        }
        float[] got = CropTargets.targets(store, keys, boxes);
        assertEquals(boxes.length * CLASSES, got.length);
        double worst = 0;
        for (int i = 0; i < boxes.length; ++i) {
            final int crop = i;
            CropTargets.TopKMap m = maps.stream().filter(x -> x.key().equals(keys.get(crop))).findFirst().orElseThrow();
            double[] want = roiAlign(dense(m), boxes[i]);
            for (int c = 0; c < CLASSES; ++c) worst = Math.max(worst, Math.abs(want[c] - got[i * CLASSES + c]));
        }
        System.out.printf("consumer: 16 crops from the store vs the example's roi_align: max |diff| %.3g%n", worst);
        assertTrue(worst < 1e-5, "max |diff| " + worst);
    }

    @Test
    void theClasspathHoldsNoLibTorchOrOpenCvAndWeighsUnder10MB() {
        long bytes = 0;
        List<String> jars = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(e).getFileName().toString();
            assertTrue(!name.contains("pytorch") && !name.contains("opencv") && !name.contains("openblas"),
                    "no LibTorch, OpenCV or OpenBLAS on relabel4j-core's classpath: " + e);
            // the test framework is the example's, not relabel4j's weight
            boolean test = name.startsWith("junit-") || name.startsWith("opentest4j") || name.startsWith("apiguardian")
                    || name.startsWith("surefire") || name.contains("classes");
            if (!test && name.endsWith(".jar")) {
                jars.add(name);
                bytes += new File(e).length();
            }
        }
        System.out.printf("consumer: relabel4j-core's runtime classpath: %d jars, %.1f MB: %s%n", jars.size(),
                bytes / 1e6, jars);
        assertTrue(jars.stream().anyMatch(j -> j.startsWith("relabel4j-core-")), jars.toString());
        assertTrue(bytes < 10_000_000, bytes + " bytes");
    }
}
