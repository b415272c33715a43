package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.tensor;
import static org.relabel4j.torch.TestTensors.values;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.objective.Losses;
import org.relabel4j.train.optim.AdamP;
import org.relabel4j.train.optim.AdamW;
import org.relabel4j.train.optim.Optimizer;
import org.relabel4j.train.optim.Sgd;
import org.relabel4j.train.targets.CutMix;
import org.relabel4j.train.targets.GtMix;
import org.relabel4j.train.targets.LabelSmoothing;
import org.relabel4j.train.targets.OneHotTargets;

/** The trainer's parts against hand computations: losses, targets, CutMix, schedules, optimizers, config. */
class TrainPartsTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void torch() {
        Torch.init();
    }



    @Test
    void softTargetCrossEntropyIsTheHandComputation() {
        try (PointerScope s = new PointerScope()) {
            float[] logits = {2f, 1f, 0f, -1f, 0.5f, 3f};
            float[] targets = {0.7f, 0.2f, 0.1f, 0f, 0.5f, 0.5f};
            double expected = 0;
            for (int b = 0; b < 2; ++b) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int c = 0; c < 3; ++c) max = Math.max(max, logits[3 * b + c]);
                for (int c = 0; c < 3; ++c) sum += Math.exp(logits[3 * b + c] - max);
                double lse = max + Math.log(sum);
                for (int c = 0; c < 3; ++c) expected -= targets[3 * b + c] * (logits[3 * b + c] - lse);
            }
            expected /= 2;
            double got = Losses.softTargetCrossEntropy(tensor(logits, 2, 3), tensor(targets, 2, 3)).item_double();
            assertEquals(expected, got, 1e-6);
            // One-hot targets: the usual cross-entropy -log softmax[label].
            double ce = Losses.softTargetCrossEntropy(tensor(logits, 2, 3), tensor(new float[] {1, 0, 0, 0, 0, 1}, 2, 3))
                    .item_double();
            double lse0 = Math.log(Math.exp(2) + Math.exp(1) + 1), lse1 = Math.log(Math.exp(-1) + Math.exp(0.5) + Math.exp(3));
            assertEquals(((lse0 - 2) + (lse1 - 3)) / 2, ce, 1e-6);
            // Distillation at T: T^2 * CE(softmax(teacher/T), student/T).
            float[] teacher = {0.6f, 0.3f, 0.1f, 0.2f, 0.2f, 0.6f};
            double kd = Losses.distillation(tensor(logits, 2, 3), tensor(teacher, 2, 3), 2.0).item_double();
            double ref = 0;
            for (int b = 0; b < 2; ++b) {
                double sum = 0;
                for (int c = 0; c < 3; ++c) sum += Math.exp(logits[3 * b + c] / 2.0);
                for (int c = 0; c < 3; ++c) ref -= teacher[3 * b + c] * (logits[3 * b + c] / 2.0 - Math.log(sum));
            }
            assertEquals(4 * ref / 2, kd, 1e-5);
        }
    }

    @Test
    void baselinesTransformTargetsAsDefined() {
        try (PointerScope s = new PointerScope()) {
            NdArray oneHot = OneHotTargets.of(NdArray.of(new long[] {2, 0}), 4);
            assertArrayEquals(new float[] {0, 0, 1, 0, 1, 0, 0, 0}, oneHot.toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> OneHotTargets.of(NdArray.of(new long[] {4}), 4));
            Tensor hot = Tensors.fromNdArray(oneHot);
            // Label smoothing (released smooth_target): t (1 - eps) + eps / C.
            assertArrayEquals(new float[] {0.025f, 0.025f, 0.925f, 0.025f, 0.925f, 0.025f, 0.025f, 0.025f},
                    values(LabelSmoothing.smooth(hot, 0.1, 4)), 1e-6f);
            assertTrue(LabelSmoothing.smooth(hot, 0, 4) == hot, "eps 0 leaves the targets");
            // gt-mix: alpha one-hot + (1 - alpha) pooled.
            Tensor pooled = tensor(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.25f, 0.25f, 0.25f, 0.25f}, 2, 4);
            assertArrayEquals(new float[] {0.075f, 0.15f, 0.475f, 0.3f, 0.4375f, 0.1875f, 0.1875f, 0.1875f},
                    values(GtMix.mix(pooled, hot, 0.25)), 1e-6f);
            assertArrayEquals(values(pooled), values(GtMix.mix(pooled, hot, 0)), 0f);
            assertArrayEquals(values(hot), values(GtMix.mix(pooled, hot, 1)), 0f);
            // Smoothing a soft target keeps it a distribution.
            float[] smoothed = values(LabelSmoothing.smooth(pooled, 0.2, 4));
            assertEquals(1.0, smoothed[0] + smoothed[1] + smoothed[2] + smoothed[3], 1e-6);
        }
    }

    @Test
    void cutMixWeightsTargetsByThePastedArea() {
        CutMix cm = new CutMix(1.0, 1.0, 2, 10, 7);
        Set<Double> lambdas = new HashSet<>();
        for (int step = 0; step < 200; ++step) {
            CutMix.Mix m = cm.sample(3, step, 8, 32, 24);
            assertNotNull(m);
            int area = (m.r2() - m.r1()) * (m.c2() - m.c1());
            assertEquals(1 - area / (32.0 * 24), m.lambda(), 1e-12, "lambda' = 1 - box area / image area");
            assertTrue(m.r1() >= 0 && m.r2() <= 32 && m.c1() >= 0 && m.c2() <= 24 && m.r1() <= m.r2() && m.c1() <= m.c2());
            long[] perm = m.perm().clone();
            java.util.Arrays.sort(perm);
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7}, perm);
            lambdas.add(m.lambda());
            // Same (epoch, step): the same mix (a resumed run replays it).
            CutMix.Mix again = cm.sample(3, step, 8, 32, 24);
            assertEquals(m.lambda(), again.lambda());
            assertArrayEquals(m.perm(), again.perm());
        }
        assertTrue(lambdas.size() > 50, "lambda varies: " + lambdas.size());
        assertNull(cm.sample(8, 0, 8, 32, 24), "off in the last off_epoch epochs");
        assertNull(new CutMix(0.0, 1.0, 0, 10, 7).sample(0, 0, 8, 32, 32));
        int mixed = 0;
        CutMix half = new CutMix(0.5, 1.0, 0, 10, 7);
        for (int step = 0; step < 400; ++step) if (half.sample(0, step, 4, 16, 16) != null) ++mixed;
        assertTrue(mixed > 150 && mixed < 250, "prob 0.5 mixes about half the steps: " + mixed);

        try (PointerScope s = new PointerScope()) {
            // Images: sample i is constant i; targets: one-hot of i. After the mix, each image holds the box of its
            // partner, and its target weights its own class by lambda' and the partner's by 1 - lambda'.
            CutMix.Mix m = new CutMix.Mix(1 - 12.0 / 64, 2, 5, 1, 5, new long[] {2, 0, 1});
            float[] img = new float[3 * 1 * 8 * 8];
            for (int i = 0; i < img.length; ++i) img[i] = i / 64;
            Tensor images = tensor(img, 3, 1, 8, 8);
            CutMix.mixImages(images, m);
            float[] out = values(images);
            for (int b = 0; b < 3; ++b)
                for (int y = 0; y < 8; ++y)
                    for (int x = 0; x < 8; ++x) {
                        boolean inBox = y >= 2 && y < 5 && x >= 1 && x < 5;
                        assertEquals(inBox ? m.perm()[b] : b, out[b * 64 + y * 8 + x], 0f, "b " + b + " y " + y + " x " + x);
                    }
            float[] t = values(CutMix.mixTargets(Tensors.fromNdArray(OneHotTargets.of(NdArray.of(new long[] {0, 1, 2}), 3)), m));
            double l = m.lambda();
            assertArrayEquals(new float[] {(float) l, 0, (float) (1 - l), (float) (1 - l), (float) l, 0, 0, (float) (1 - l),
                    (float) l}, t, 1e-6f);
        }
    }

    @Test
    void lrScheduleWarmsUpPerIterationThenDecays() {
        LrSchedule cos = new LrSchedule(0.4, "cos", 10, 2, 0.0, 30, 0.1);
        assertEquals(0.0, cos.at(0, 0, 100), 1e-12);
        assertEquals(0.4 * 50 / 200, cos.at(0, 50, 100), 1e-12);
        assertEquals(0.4 * 150 / 200, cos.at(1, 50, 100), 1e-12);
        assertEquals(0.4, cos.at(2, 0, 100), 1e-12);
        assertEquals(0.2, cos.at(6, 0, 100), 1e-12);  // half way through the 8 decay epochs
        assertEquals(0.4 * 0.5 * (Math.cos(Math.PI * 799 / 800) + 1), cos.at(9, 99, 100), 1e-12);
        LrSchedule step = new LrSchedule(1.0, "step", 9, 0, 0, 3, 0.5);
        assertEquals(1.0, step.at(2, 9, 10), 1e-12);
        assertEquals(0.5, step.at(3, 0, 10), 1e-12);
        assertEquals(0.25, step.at(8, 9, 10), 1e-12);
        assertEquals(0.01, new LrSchedule(1.0, "default", 90, 0, 0, 30, 0.1).at(65, 0, 10), 1e-12);
        assertEquals(0.5, new LrSchedule(1.0, "linear", 4, 0, 0, 30, 0.1).at(2, 0, 10), 1e-12);
    }

    /** Parameters p (2 values) with loss sum(c * p) + 0.5 sum(p^2): gradient c + p. */
    static double[] run(java.util.function.Function<TensorVector, Optimizer> make, double[] p0, double[] c, int steps,
            double lr) {
        try (PointerScope s = new PointerScope()) {
            Tensor p = tensor(new float[] {(float) p0[0], (float) p0[1]}, 2).requires_grad_(true);
            TensorVector params = new TensorVector(p);
            Optimizer opt = make.apply(params);
            Tensor cc = tensor(new float[] {(float) c[0], (float) c[1]}, 2);
            for (int i = 0; i < steps; ++i) {
                try (PointerScope inner = new PointerScope()) {
                    Tensor loss = p.mul(cc).sum().add(p.mul(p).sum().mul(new org.bytedeco.pytorch.Scalar(0.5)));
                    loss.backward();
                    opt.step(lr);
                    opt.zeroGrad();
                }
            }
            float[] v = values(p);
            return new double[] {v[0], v[1]};
        }
    }

    @Test
    void sgdIsTorchsFormula() {
        double[] p0 = {1.0, -2.0}, c = {0.5, 0.25};
        double lr = 0.1, mom = 0.9, wd = 0.01;
        for (boolean nesterov : new boolean[] {false, true}) {
            double[] p = p0.clone(), buf = new double[2];
            for (int t = 0; t < 5; ++t) {
                for (int i = 0; i < 2; ++i) {
                    double d = c[i] + p[i] + wd * p[i];
                    buf[i] = t == 0 ? d : mom * buf[i] + d;
                    p[i] -= lr * (nesterov ? d + mom * buf[i] : buf[i]);
                }
            }
            double[] got = run(ps -> new Sgd(ps, mom, nesterov, wd, false), p0, c, 5, lr);
            assertArrayEquals(p, got, 1e-5, "nesterov " + nesterov);
        }
        // no_decay_bn_bias: 1-D parameters (our p) get no weight decay.
        double[] p = p0.clone();
        for (int i = 0; i < 2; ++i) p[i] -= lr * (c[i] + p[i]);
        assertArrayEquals(p, run(ps -> new Sgd(ps, 0, false, 0.5, true), p0, c, 1, lr), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> run(ps -> new Sgd(ps, 0, true, 0, false), p0, c, 1, lr));
    }

    @Test
    void adamWIsTorchsFormula() {
        double[] p0 = {1.0, -2.0}, c = {0.5, 0.25};
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
        double[] p = p0.clone(), m = new double[2], v = new double[2];
        for (int t = 1; t <= 6; ++t) {
            for (int i = 0; i < 2; ++i) {
                double g = c[i] + p[i];
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mh = m[i] / (1 - Math.pow(b1, t)), vh = v[i] / (1 - Math.pow(b2, t));
                p[i] -= lr * mh / (Math.sqrt(vh) + eps);
            }
        }
        assertArrayEquals(p, run(ps -> new AdamW(ps, b1, b2, eps, wd, false), p0, c, 6, lr), 1e-5);
    }

    @Test
    void adamPMinimizes() {
        double[] p0 = {1.0, -2.0}, c = {0.5, 0.25};
        double[] got = run(ps -> new AdamP(ps, 0.9, 0.999, 1e-8, 0, true, false), p0, c, 300, 0.05);
        // The minimum of sum(c p) + 0.5 |p|^2 is p = -c.
        assertArrayEquals(new double[] {-0.5, -0.25}, got, 0.05);
    }

    /** A 3 x 4 weight (3 output channels) and a gradient function of it (row-major doubles). */
    static final int ROWS = 3, COLS = 4;

    static double[] rowsUnit(double[] w, int rows) {
        int cols = w.length / rows;
        double[] u = new double[w.length];
        for (int r = 0; r < rows; ++r) {
            double n = 0;
            for (int j = 0; j < cols; ++j) n += w[r * cols + j] * w[r * cols + j];
            n = Math.sqrt(n);
            for (int j = 0; j < cols; ++j) u[r * cols + j] = w[r * cols + j] / n;
        }
        return u;
    }

    /** d/dw of sum_r <c_r, w_r / |w_r|> (rows = 3: per channel) or <C, W / |W|> (rows = 1: the whole tensor). */
    static double[] scaleInvariantGradient(double[] w, double[] c, int rows) {
        int cols = w.length / rows;
        double[] u = rowsUnit(w, rows), g = new double[w.length];
        for (int r = 0; r < rows; ++r) {
            double n = 0, cu = 0;
            for (int j = 0; j < cols; ++j) {
                n += w[r * cols + j] * w[r * cols + j];
                cu += c[r * cols + j] * u[r * cols + j];
            }
            n = Math.sqrt(n);
            for (int j = 0; j < cols; ++j) g[r * cols + j] = (c[r * cols + j] - cu * u[r * cols + j]) / n;
        }
        return g;
    }

    /**
     * AdamP as the paper states it (Heo et al., ICLR 2021, Algorithm 2, with Adam's bias corrections), in doubles:
     * the Adam step p; for a weight of >= 2 dimensions, if in the channel view (rows = output channels) and then the
     * layer view (one row) max_r |cos(g_r, w_r)| < delta / sqrt(row length), p loses its component along each
     * w_r / |w_r| and the weight decay is scaled by wd_ratio. Returns the weight after {@code steps} steps; {@code
     * projections[view]} counts the steps projected in each view. {@code project=false} is plain Adam.
     */
    static double[] adamPReference(double[] w0, java.util.function.UnaryOperator<double[]> gradient, int steps, double lr,
            double b1, double b2, double eps, double wd, boolean nesterov, boolean project, int[] projections) {
        double delta = 0.1, wdRatio = 0.1;
        double[] w = w0.clone(), m = new double[w.length], v = new double[w.length];
        for (int t = 1; t <= steps; ++t) {
            double[] g = gradient.apply(w), p = new double[w.length];
            double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < w.length; ++i) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
                p[i] = (nesterov ? b1 * m[i] + (1 - b1) * g[i] : m[i]) / denom;
            }
            double decay = 1;
            for (int view = 0; project && view < 2; ++view) {
                int rows = view == 0 ? ROWS : 1, cols = w.length / rows;
                double maxCos = 0;
                for (int r = 0; r < rows; ++r) {
                    double gw = 0, gg = 0, ww = 0;
                    for (int j = 0; j < cols; ++j) {
                        gw += g[r * cols + j] * w[r * cols + j];
                        gg += g[r * cols + j] * g[r * cols + j];
                        ww += w[r * cols + j] * w[r * cols + j];
                    }
                    maxCos = Math.max(maxCos, Math.abs(gw) / Math.max(Math.sqrt(gg) * Math.sqrt(ww), eps));
                }
                if (maxCos < delta / Math.sqrt(cols)) {
                    for (int r = 0; r < rows; ++r) {
                        double ww = 0, up = 0;
                        for (int j = 0; j < cols; ++j) ww += w[r * cols + j] * w[r * cols + j];
                        double norm = Math.sqrt(ww) + eps;
                        for (int j = 0; j < cols; ++j) up += w[r * cols + j] / norm * p[r * cols + j];
                        for (int j = 0; j < cols; ++j) p[r * cols + j] -= w[r * cols + j] / norm * up;
                    }
                    decay = wdRatio;
                    ++projections[view];
                    break;
                }
            }
            for (int i = 0; i < w.length; ++i) {
                w[i] *= 1 - lr * wd * decay;
                w[i] -= lr / bc1 * p[i];
            }
        }
        return w;
    }

    /** Our optimizer on a ROWS x COLS weight whose gradient at each step is {@code gradient} of its current value. */
    static double[] run2d(java.util.function.Function<TensorVector, Optimizer> make, double[] w0,
            java.util.function.UnaryOperator<double[]> gradient, int steps, double lr) {
        try (PointerScope s = new PointerScope()) {
            float[] f = new float[w0.length];
            for (int i = 0; i < f.length; ++i) f[i] = (float) w0[i];
            Tensor w = tensor(f, ROWS, COLS).requires_grad_(true);
            Optimizer opt = make.apply(new TensorVector(w));
            for (int i = 0; i < steps; ++i) {
                try (PointerScope inner = new PointerScope()) {
                    float[] now = values(w);
                    double[] d = new double[now.length];
                    for (int j = 0; j < d.length; ++j) d[j] = now[j];
                    double[] g = gradient.apply(d);
                    float[] gf = new float[g.length];
                    for (int j = 0; j < g.length; ++j) gf[j] = (float) g[j];
                    w.mul(tensor(gf, ROWS, COLS)).sum().backward();  // grad = g exactly
                    opt.step(lr);
                    opt.zeroGrad();
                }
            }
            float[] v = values(w);
            double[] out = new double[v.length];
            for (int i = 0; i < v.length; ++i) out[i] = v[i];
            return out;
        }
    }

    @Test
    void adamPProjectsScaleInvariantWeightsAsThePaper() {
        double[] w0 = {0.8, -0.3, 0.5, 0.1, -0.2, 0.9, 0.4, -0.6, 0.3, 0.3, -0.7, 0.5};
        double[] c = {0.5, 0.2, -0.4, 0.9, -0.3, 0.6, 0.1, 0.2, 0.7, -0.5, 0.3, -0.1};
        double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.2;
        int steps = 6;
        // channel view: each output channel is normalized (a conv followed by BN); layer view: the whole weight is;
        // neither: a plain quadratic, whose gradient c + w is far from orthogonal to w
        String[] names = {"per-channel scale-invariant", "whole-tensor scale-invariant", "not scale-invariant"};
        List<java.util.function.UnaryOperator<double[]>> gradients = List.of(
                w -> scaleInvariantGradient(w, c, ROWS), w -> scaleInvariantGradient(w, c, 1), w -> {
                    double[] g = new double[w.length];
                    for (int i = 0; i < w.length; ++i) g[i] = c[i] + w[i];
                    return g;
                });
        for (int k = 0; k < 3; ++k) {
            for (boolean nesterov : new boolean[] {false, true}) {
                String what = names[k] + (nesterov ? ", nesterov" : "");
                int[] projected = new int[2];
                double[] expected = adamPReference(w0, gradients.get(k), steps, lr, b1, b2, eps, wd, nesterov, true,
                        projected);
                double[] got = run2d(ps -> new AdamP(ps, b1, b2, eps, wd, nesterov, false), w0, gradients.get(k), steps, lr);
                assertArrayEquals(expected, got, 2e-5, what);
                // the case takes the branch it is named for, at every step
                assertArrayEquals(k == 0 ? new int[] {steps, 0} : k == 1 ? new int[] {0, steps} : new int[] {0, 0},
                        projected, what);
                double[] adam = adamPReference(w0, gradients.get(k), steps, lr, b1, b2, eps, wd, nesterov, false,
                        new int[2]);
                double gap = 0;
                for (int i = 0; i < adam.length; ++i) gap = Math.max(gap, Math.abs(adam[i] - got[i]));
                if (k < 2) assertTrue(gap > 1e-3, what + ": plain Adam would pass too (gap " + gap + ")");
                else assertTrue(gap < 2e-5, what + ": no projection, AdamP is Adam (gap " + gap + ")");
            }
        }
    }

    @Test
    void optimizerStateRoundTrips() {
        try (PointerScope s = new PointerScope()) {
            Tensor p = tensor(new float[] {1, 2}, 2).requires_grad_(true);
            Sgd a = new Sgd(new TensorVector(p), 0.9, true, 0, false);
            p.sum().backward();
            a.step(0.1);
            var state = a.state();
            assertEquals(1, state.size());
            Tensor q = tensor(new float[] {1, 2}, 2).requires_grad_(true);
            Sgd b = new Sgd(new TensorVector(q), 0.9, true, 0, false);
            b.loadState(state, a.steps());
            assertEquals(1, b.steps());
            assertArrayEquals(values(state.values().iterator().next()), values(b.state().values().iterator().next()), 0f);
        }
    }

    @Test
    void configLayersAndErrors() throws Exception {
        TrainConfig d = TrainConfig.load(null, null, List.of());
        assertEquals("resnet50", d.string("model.arch"));
        // The released recipes train with ReLabel: they need the store.
        var noStore = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load("resnet50", null, List.of()));
        assertTrue(noStore.getMessage().contains("data.relabel.path"), noStore.getMessage());
        TrainConfig r50 = TrainConfig.load("resnet50", null, List.of("data.relabel.path=maps.rlm"));
        TrainConfig cut = TrainConfig.load("resnet50_cutmix", null, List.of("data.relabel.path=maps.rlm"));
        assertTrue(r50.bool("data.relabel.use") && r50.bool("optim.nesterov"));
        assertEquals(1024, r50.integer("optim.batch_size"));
        assertEquals(1.0, cut.number("data.cutmix.prob"));
        assertEquals("adamp", cut.string("optim.optimizer"));
        assertEquals("cos", r50.string("optim.lr.decay_type"));
        // A file over the preset, overrides over the file.
        Path file = Files.writeString(tmp.resolve("c.yaml"), "optim:\n  epochs: 7\n  lr:\n    init: 0.2\n");
        TrainConfig c = TrainConfig.load("tiny", file, List.of("optim.lr.init=0.3", "data.relabel.use=true",
                "data.relabel.path=maps.rlm", "data.relabel.gt_mix=0.5"));
        assertEquals(7, c.integer("optim.epochs"));
        assertEquals(0.3, c.number("optim.lr.init"));
        assertEquals(0.5, c.number("data.relabel.gt_mix"));
        assertEquals("small-cnn", c.string("model.arch"));
        // JSON too, and the saved form restores the same config.
        Path json = Files.writeString(tmp.resolve("c.json"), "{\"optim\": {\"batch_size\": 12}}");
        assertEquals(12, TrainConfig.load(null, json, null).integer("optim.batch_size"));
        assertEquals(c.toJson(), TrainConfig.fromJson(c.toJson()).toJson());
        // A saved config from before a key existed takes the key's default.
        com.fasterxml.jackson.databind.node.ObjectNode old =
                (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.toJson());
        ((com.fasterxml.jackson.databind.node.ObjectNode) old.get("model")).remove("norm");
        assertEquals("batch", TrainConfig.fromJson(old.toString()).string("model.norm"));
        var e0 = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("model.norm=group")));
        assertTrue(e0.getMessage().contains("model.norm"), e0.getMessage());

        var e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("optim.lr.int=1")));
        assertTrue(e.getMessage().contains("optim.lr.int"), e.getMessage());
        Path typo = Files.writeString(tmp.resolve("t.yaml"), "data:\n  relabel:\n    usee: true\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, typo, null));
        assertTrue(e.getMessage().contains("t.yaml") && e.getMessage().contains("data.relabel.usee"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("data.relabel.use=true")));
        assertTrue(e.getMessage().contains("data.relabel.path"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("data.relabel.box_order=xy")));
        assertTrue(e.getMessage().contains("box_order"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("optim.epochs=two")).integer("optim.epochs"));
        assertTrue(e.getMessage().contains("optim.epochs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load("resnet51", null, null));
        assertTrue(e.getMessage().contains("resnet51") && e.getMessage().contains("tiny"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("optim=3")));
        assertTrue(e.getMessage().contains("mapping"), e.getMessage());
        Path bad = Files.writeString(tmp.resolve("b.yaml"), "optim: [1, 2\n");
        var io = assertThrows(java.io.IOException.class, () -> TrainConfig.load(null, bad, null));
        assertTrue(io.getMessage().contains("b.yaml"), io.getMessage());
    }

    @Test
    void smallRunsScaleTheRateAndClampTheWarmup() throws Exception {
        // the defaults' rate 0.5 is for batch 512: batch 8 trains at 0.5 x 8 / 512, and says so
        TrainConfig small = TrainConfig.load(null, null, List.of("optim.batch_size=8"));
        assertEquals(512, small.integer("optim.lr.reference_batch"));
        assertEquals(0.5 * 8 / 512, small.lr(), 1e-15);
        assertEquals(0.5 * 8 / 512, LrSchedule.of(small).base(), 1e-15);
        assertEquals(1, small.notes().size(), small.notes().toString());
        assertTrue(small.notes().get(0).contains("0.0078125") && small.notes().get(0).contains("batch 512")
                && small.notes().get(0).contains("linear"), small.notes().get(0));
        assertEquals(0.5, TrainConfig.load(null, null, List.of()).lr(), 1e-15);
        assertTrue(TrainConfig.load(null, null, List.of()).notes().isEmpty());
        // a rate given on the command line is the rate: no scaling, whatever the batch
        TrainConfig given = TrainConfig.load(null, null, List.of("optim.batch_size=8", "optim.lr.init=0.1"));
        assertEquals(0.1, given.lr(), 1e-15);
        assertEquals(8, given.integer("optim.lr.reference_batch"));
        assertTrue(given.notes().isEmpty(), given.notes().toString());
        // overridable: no scaling at all, or another reference batch (e.g. the "lr per 256 images" convention)
        TrainConfig none = TrainConfig.load(null, null, List.of("optim.batch_size=8", "optim.lr.scale=none"));
        assertEquals(0.5, none.lr(), 1e-15);
        assertTrue(none.notes().get(0).contains("as given"), none.notes().toString());
        assertEquals(0.5 * 8 / 256, TrainConfig.load(null, null, List.of("optim.batch_size=8",
                "optim.lr.reference_batch=256")).lr(), 1e-15);
        // a preset's rate is for the preset's batch; a config file's rate for the file's batch (a released recipe)
        TrainConfig r50 = TrainConfig.load("resnet50", null, List.of("data.relabel.path=m.rlm", "optim.batch_size=256"));
        assertEquals(0.1 * 256 / 1024, r50.lr(), 1e-15);
        Path recipe = Files.writeString(tmp.resolve("recipe.yaml"), "optim:\n  batch_size: 256\n  lr:\n    init: 0.2\n");
        assertEquals(0.2, TrainConfig.load(null, recipe, List.of()).lr(), 1e-15);
        assertEquals(0.2 * 64 / 256, TrainConfig.load(null, recipe, List.of("optim.batch_size=64")).lr(), 1e-15);
        // the saved form trains at the same rate (no second scaling on resume), and so does a config saved before
        // the keys existed (its rate was its own batch's)
        assertEquals(small.lr(), TrainConfig.fromJson(small.toJson()).lr(), 1e-15);
        assertEquals(small.lr(), small.with(List.of("util.print_freq=3")).lr(), 1e-15);
        var old = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(small.toJson());
        var oldLr = (com.fasterxml.jackson.databind.node.ObjectNode) old.get("optim").get("lr");
        oldLr.remove("reference_batch");
        oldLr.remove("scale");
        assertEquals(0.5, TrainConfig.fromJson(old.toString()).lr(), 1e-15);
        var bad = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null,
                List.of("optim.lr.reference_batch=0")));
        assertTrue(bad.getMessage().contains("optim.lr.reference_batch"), bad.getMessage());
        bad = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(null, null, List.of("optim.lr.scale=sqrt")));
        assertTrue(bad.getMessage().contains("optim.lr.scale") && bad.getMessage().contains("sqrt"), bad.getMessage());

        // the defaults' 5 warmup epochs in a 1-epoch run: clamped to half the run, with a warning
        TrainConfig one = TrainConfig.load(null, null, List.of("optim.epochs=1", "optim.lr.init=0.4"));
        assertEquals(5, one.number("optim.warmup.epochs"));
        assertEquals(0.5, one.warmupEpochs(), 0);
        assertTrue(one.notes().stream().anyMatch(n -> n.startsWith("warning:") && n.contains("clamped to 0.5")),
                one.notes().toString());
        LrSchedule sched = LrSchedule.of(one);
        assertEquals(0, sched.at(0, 0, 10), 1e-12);
        assertEquals(0.4 * 0.2 / 0.5, sched.at(0, 2, 10), 1e-12);  // 0.2 epochs into a 0.5-epoch warmup
        assertEquals(0.4, sched.at(0, 5, 10), 1e-12);              // the warmup ends mid-epoch at the base rate
        assertEquals(0.4 * 0.5 * (Math.cos(Math.PI * 0.8) + 1), sched.at(0, 9, 10), 1e-12);  // then cosine
        for (int b = 0; b < 10; ++b) assertTrue(sched.at(0, b, 10) <= 0.4 + 1e-12, "never above the base rate");
        TrainConfig six = TrainConfig.load(null, null, List.of("optim.epochs=6"));
        assertEquals(5, six.warmupEpochs(), 0);
        assertTrue(six.notes().isEmpty(), six.notes().toString());
        assertEquals(3, TrainConfig.load(null, null, List.of("optim.epochs=6", "optim.warmup.epochs=7")).warmupEpochs(), 0);
    }

    @Test
    void oneHotOfBadLabelNamesTheSample() {
        var e = assertThrows(IllegalArgumentException.class, () -> OneHotTargets.of(NdArray.of(new long[] {0, -1}), 3));
        assertTrue(e.getMessage().contains("sample 1") && e.getMessage().contains("-1"), e.getMessage());
        assertEquals(DType.FLOAT32, OneHotTargets.of(NdArray.of(new long[] {0}), 3).dtype());
    }
}
