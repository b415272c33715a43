package org.relabel4j.eval;

import java.util.Arrays;
import java.util.Locale;

/**
 * Multi-label classification metrics over a set of images (the COCO multi-label convention of ML-GCN, ASL and
 * the ReLabel paper's Table 10), from per-image class scores and ground-truth sets.
 *
 * <ul>
 *   <li><b>mAP</b>: per class c, the average precision of the ranking of all images by score c (scikit-learn's
 *       {@code average_precision_score}: sum over thresholds of (R_n - R_{n-1}) P_n, tied scores one threshold),
 *       then the mean over the classes with at least one positive image (classes without positives are left out
 *       and counted in {@link Result#classesWithoutPositives}).
 *   <li><b>CP/CR/CF1</b> (per-class precision and recall averaged over classes, CF1 = 2 CP CR / (CP + CR)) and
 *       <b>OP/OR/OF1</b> (overall: counts pooled over all classes), with a class predicted when its probability is
 *       >= the threshold (0.5). A class never predicted has precision 0 in the CP mean; a class without positives
 *       has recall 0 in the CR mean (both averaged over all classes, as the reference ML-GCN code does).
 *   <li>The same six at top-3: an image's predictions are its 3 best-scoring classes whose probability is >= the
 *       threshold (ties broken by the lower class id).
 * </ul>
 * Scores are probabilities (sigmoid of the logits); only their order matters for mAP.
 */
public final class MultiLabelMetrics {
    private MultiLabelMetrics() {}

    /** Precision/recall/F1 per class (C*) and overall (O*), fractions in [0, 1]. */
    public record F1s(double cp, double cr, double cf1, double op, double or, double of1) {}

    /**
     * @param map mean average precision over the classes with a positive, in [0, 1] (NaN if no class has one)
     * @param ap per class (NaN for a class without positives)
     * @param atThreshold the six at the threshold
     * @param top3 the six over each image's top-3 classes (at the threshold)
     */
    public record Result(int images, int classes, double map, double[] ap, int classesWithoutPositives,
            double threshold, F1s atThreshold, F1s top3) {
        /** "mAP 61.2, CF1 55.0, OF1 60.1 (500 images)": percent. */
        public String summary() {
            return String.format(Locale.ROOT, "mAP %.2f, CF1 %.2f, OF1 %.2f, CF1-top3 %.2f, OF1-top3 %.2f (%d images)",
                    100 * map, 100 * atThreshold.cf1(), 100 * atThreshold.of1(), 100 * top3.cf1(), 100 * top3.of1(), images);
        }
    }

    /**
     * The metrics of {@code scores[i][c]} (probabilities) against {@code truth[i][c]}, predicting at {@code
     * threshold}. Every row must have the same length; a NaN score is an error naming its image and class.
     */
    public static Result of(float[][] scores, boolean[][] truth, double threshold) {
        int n = scores.length;
        if (truth.length != n) throw new IllegalArgumentException(n + " score rows but " + truth.length + " label rows");
        if (n == 0) throw new IllegalArgumentException("no images to measure");
        int classes = scores[0].length;
        for (int i = 0; i < n; ++i) {
            if (scores[i].length != classes || truth[i].length != classes)
                throw new IllegalArgumentException("image " + i + ": " + scores[i].length + " scores and " + truth[i].length
                        + " labels, expected " + classes);
            for (int c = 0; c < classes; ++c)
                if (Float.isNaN(scores[i][c])) throw new IllegalArgumentException("image " + i + ", class " + c + ": NaN score");
        }
        double[] ap = new double[classes];
        double sum = 0;
        int counted = 0;
        float[] column = new float[n];
        boolean[] positive = new boolean[n];
        for (int c = 0; c < classes; ++c) {
            for (int i = 0; i < n; ++i) {
                column[i] = scores[i][c];
                positive[i] = truth[i][c];
            }
            ap[c] = averagePrecision(column, positive);
            if (!Double.isNaN(ap[c])) {
                sum += ap[c];
                counted++;
            }
        }
        double map = counted == 0 ? Double.NaN : sum / counted;
        boolean[][] predicted = new boolean[n][classes], predictedTop3 = new boolean[n][classes];
        Integer[] order = new Integer[classes];
        for (int i = 0; i < n; ++i) {
            for (int c = 0; c < classes; ++c) predicted[i][c] = scores[i][c] >= threshold;
            for (int c = 0; c < classes; ++c) order[c] = c;
            float[] row = scores[i];
            Arrays.sort(order, (a, b) -> row[a] != row[b] ? Float.compare(row[b], row[a]) : Integer.compare(a, b));
            for (int j = 0; j < Math.min(3, classes); ++j) predictedTop3[i][order[j]] = row[order[j]] >= threshold;
        }
        return new Result(n, classes, map, ap, classes - counted, threshold, f1s(predicted, truth), f1s(predictedTop3, truth));
    }

    /**
     * Average precision of a ranking by {@code scores} (higher first) with positives {@code positive}: scikit-learn's
     * definition, {@code sum_n (R_n - R_{n-1}) P_n} over the distinct score thresholds (tied scores enter together).
     * NaN without positives.
     */
    public static double averagePrecision(float[] scores, boolean[] positive) {
        int n = scores.length;
        int positives = 0;
        for (boolean p : positive) positives += p ? 1 : 0;
        if (positives == 0) return Double.NaN;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; ++i) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a]));
        double ap = 0, lastRecall = 0;
        int tp = 0, seen = 0;
        for (int j = 0; j < n; ) {
            float s = scores[order[j]];
            while (j < n && scores[order[j]] == s) {  // one threshold for a run of ties
                tp += positive[order[j]] ? 1 : 0;
                seen++;
                j++;
            }
            double recall = (double) tp / positives, precision = (double) tp / seen;
            ap += (recall - lastRecall) * precision;
            lastRecall = recall;
        }
        return ap;
    }

    /** CP/CR/CF1 and OP/OR/OF1 of boolean predictions. */
    static F1s f1s(boolean[][] predicted, boolean[][] truth) {
        int n = predicted.length, classes = predicted[0].length;
        long tpAll = 0, predAll = 0, posAll = 0;
        double cp = 0, cr = 0;
        for (int c = 0; c < classes; ++c) {
            long tp = 0, pred = 0, pos = 0;
            for (int i = 0; i < n; ++i) {
                if (predicted[i][c]) pred++;
                if (truth[i][c]) pos++;
                if (predicted[i][c] && truth[i][c]) tp++;
            }
            cp += pred == 0 ? 0 : (double) tp / pred;
            cr += pos == 0 ? 0 : (double) tp / pos;
            tpAll += tp;
            predAll += pred;
            posAll += pos;
        }
        cp /= classes;
        cr /= classes;
        double op = predAll == 0 ? 0 : (double) tpAll / predAll, or = posAll == 0 ? 0 : (double) tpAll / posAll;
        return new F1s(cp, cr, f1(cp, cr), op, or, f1(op, or));
    }

    private static double f1(double p, double r) {
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }
}
