package org.relabel4j.eval;

/**
 * Accuracy over {@link Predictions}, counted over the evaluated samples only (samples that could not be evaluated
 * are neither right nor wrong; {@link Predictions#skipped} lists them):
 *
 * <ul>
 *   <li>top-1: the fraction of evaluated samples whose first prediction is their label;</li>
 *   <li>top-5 (top-k): the fraction whose label is among the first min(5, k) predictions;</li>
 *   <li>per class c: top-1 and top-5 over the evaluated samples labelled c; {@link PerClass#meanTop1} averages the
 *       per-class top-1 over the classes that have at least one evaluated sample (classes without one are left
 *       out, not counted as 0).</li>
 * </ul>
 */
public final class Metrics {
    private Metrics() {}

    /** Correct counts out of {@code n}. */
    public record Accuracy(int n, int top1Correct, int top5Correct) {
        public double top1() {
            return n == 0 ? Double.NaN : (double) top1Correct / n;
        }

        public double top5() {
            return n == 0 ? Double.NaN : (double) top5Correct / n;
        }
    }

    /** Per-class counts, index = class id. */
    public record PerClass(int[] n, int[] top1Correct, int[] top5Correct) {
        public int classes() {
            return n.length;
        }

        /** Top-1 of class c; NaN when it has no evaluated sample. */
        public double top1(int c) {
            return n[c] == 0 ? Double.NaN : (double) top1Correct[c] / n[c];
        }

        public double top5(int c) {
            return n[c] == 0 ? Double.NaN : (double) top5Correct[c] / n[c];
        }

        /** Classes with at least one evaluated sample. */
        public int present() {
            int p = 0;
            for (int v : n) p += v > 0 ? 1 : 0;
            return p;
        }

        /** Mean of the per-class top-1 over the classes with samples; NaN when there are none. */
        public double meanTop1() {
            double sum = 0;
            int p = 0;
            for (int c = 0; c < n.length; ++c) {
                if (n[c] > 0) {
                    sum += top1(c);
                    ++p;
                }
            }
            return p == 0 ? Double.NaN : sum / p;
        }

        /** Mean of the per-class top-5 over the classes with samples. */
        public double meanTop5() {
            double sum = 0;
            int p = 0;
            for (int c = 0; c < n.length; ++c) {
                if (n[c] > 0) {
                    sum += top5(c);
                    ++p;
                }
            }
            return p == 0 ? Double.NaN : sum / p;
        }
    }

    /** Top-1 and top-5 over the evaluated samples. */
    public static Accuracy accuracy(Predictions p) {
        int n = 0, c1 = 0, c5 = 0;
        for (int i = 0; i < p.size(); ++i) {
            if (!p.evaluated(i)) continue;
            ++n;
            int label = p.label(i);
            if (p.top1(i) == label) ++c1;
            if (p.inTop(i, 5, label)) ++c5;
        }
        return new Accuracy(n, c1, c5);
    }

    /**
     * Per-class accuracy over {@code classes} classes (the dataset's); a label outside [0, classes) is an
     * IllegalArgumentException.
     */
    public static PerClass perClass(Predictions p, int classes) {
        int[] n = new int[classes], c1 = new int[classes], c5 = new int[classes];
        for (int i = 0; i < p.size(); ++i) {
            if (!p.evaluated(i)) continue;
            int label = p.label(i);
            if (label < 0 || label >= classes)
                throw new IllegalArgumentException("sample " + p.key(i) + " has label " + label + ", outside the "
                        + classes + " classes");
            ++n[label];
            if (p.top1(i) == label) ++c1[label];
            if (p.inTop(i, 5, label)) ++c5[label];
        }
        return new PerClass(n, c1, c5);
    }
}
