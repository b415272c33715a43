package org.relabel4j.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Sample;

/**
 * A model's top-k class predictions over a dataset, kept with every sample's key, file name and label. All the
 * dataset's samples are listed (in dataset order), including those that could not be evaluated (unreadable images:
 * {@link #evaluated} is false and they have no predictions), so that label files indexed by the whole dataset (ReaL)
 * can be aligned. Immutable.
 */
public final class Predictions {
    private final String[] keys, fileNames;
    private final int[] labels;
    private final int k;
    private final int[] top;           // [size * k], class ids best first; -1 where not evaluated
    private final boolean[] evaluated;
    private final int evaluatedCount, nonFinite;
    private final List<String> skipped;

    private Predictions(Builder b) {
        this.keys = b.keys;
        this.fileNames = b.fileNames;
        this.labels = b.labels;
        this.k = b.k;
        this.top = b.top;
        this.evaluated = b.evaluated;
        int n = 0;
        for (boolean e : evaluated) n += e ? 1 : 0;
        this.evaluatedCount = n;
        this.nonFinite = b.nonFinite;
        this.skipped = List.copyOf(b.skipped);
    }

    /** A builder over samples given by their keys, file names and labels (dataset order), keeping {@code k} classes. */
    public static Builder builder(List<String> keys, List<String> fileNames, int[] labels, int k) {
        return new Builder(keys, fileNames, labels, k);
    }

    /** A builder over the samples of {@code dataset} (keys, {@link #fileName file names}, labels). */
    public static Builder builder(Dataset dataset, int k) {
        int n = dataset.size();
        List<String> keys = new ArrayList<>(n), names = new ArrayList<>(n);
        int[] labels = new int[n];
        for (int i = 0; i < n; ++i) {
            Sample s = dataset.sample(i);
            keys.add(s.key());
            names.add(fileName(s));
            labels[i] = s.label();
        }
        return new Builder(keys, names, labels, k);
    }

    /**
     * The file name of a sample (no directories): the key's last component with the extension its origin shows,
     * e.g. {@code ILSVRC2012_val_00000001.JPEG} for key {@code n01751748/ILSVRC2012_val_00000001}; the key's last
     * component when the origin does not end with it.
     */
    public static String fileName(Sample s) {
        String key = s.key();
        String base = key.substring(key.lastIndexOf('/') + 1);
        String origin = s.origin();
        if (origin != null) {
            int at = origin.lastIndexOf(base);
            if (at >= 0) {
                String rest = origin.substring(at + base.length());
                if (rest.isEmpty() || (rest.startsWith(".") && rest.indexOf('/') < 0 && rest.indexOf(':') < 0))
                    return base + rest;
            }
        }
        return base;
    }

    /** Samples of the dataset (evaluated or not). */
    public int size() {
        return keys.length;
    }

    /** Samples that have predictions. */
    public int evaluatedCount() {
        return evaluatedCount;
    }

    /** Classes kept per sample, best first. */
    public int k() {
        return k;
    }

    public String key(int i) {
        return keys[i];
    }

    public String fileName(int i) {
        return fileNames[i];
    }

    public int label(int i) {
        return labels[i];
    }

    public boolean evaluated(int i) {
        return evaluated[i];
    }

    /** The top-1 class of sample {@code i}; -1 when it was not evaluated. */
    public int top1(int i) {
        return top[i * k];
    }

    /** The top-k classes of sample {@code i}, best first (empty when it was not evaluated). */
    public int[] topK(int i) {
        return evaluated[i] ? Arrays.copyOfRange(top, i * k, i * k + k) : new int[0];
    }

    /** True when {@code cls} is among the first {@code j} (at most k) predictions of sample {@code i}. */
    public boolean inTop(int i, int j, int cls) {
        if (!evaluated[i]) return false;
        int m = Math.min(j, k);
        for (int r = 0; r < m; ++r)
            if (top[i * k + r] == cls) return true;
        return false;
    }

    /** Evaluated samples whose logits held a NaN or an infinity (their predictions are still counted). */
    public int nonFinite() {
        return nonFinite;
    }

    /** The samples that could not be evaluated, with the reason (e.g. an unreadable image). */
    public List<String> skipped() {
        return skipped;
    }

    /** Collects predictions sample by sample (any order); samples never set count as not evaluated. */
    public static final class Builder {
        private final String[] keys, fileNames;
        private final int[] labels;
        private final int k;
        private final int[] top;
        private final boolean[] evaluated;
        private final List<String> skipped = Collections.synchronizedList(new ArrayList<>());
        private int nonFinite;

        private Builder(List<String> keys, List<String> fileNames, int[] labels, int k) {
            int n = keys.size();
            if (fileNames.size() != n || labels.length != n)
                throw new IllegalArgumentException("keys, file names and labels differ in count: " + n + ", "
                        + fileNames.size() + ", " + labels.length);
            if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
            this.keys = keys.toArray(new String[0]);
            this.fileNames = fileNames.toArray(new String[0]);
            for (int i = 0; i < n; ++i) {
                Objects.requireNonNull(this.keys[i], "key");
                Objects.requireNonNull(this.fileNames[i], "file name");
            }
            this.labels = labels.clone();
            this.k = k;
            this.top = new int[n * k];
            Arrays.fill(top, -1);
            this.evaluated = new boolean[n];
        }

        public int size() {
            return keys.length;
        }

        public String key(int i) {
            return keys[i];
        }

        /** Sets sample {@code i}'s predictions: exactly k class ids, best first. */
        public Builder set(int i, int... classes) {
            if (classes.length != k)
                throw new IllegalArgumentException("sample " + i + ": " + classes.length + " predictions, expected " + k);
            System.arraycopy(classes, 0, top, i * k, k);
            evaluated[i] = true;
            return this;
        }

        /** Counts one evaluated sample whose logits were not all finite. */
        public synchronized Builder countNonFinite() {
            ++nonFinite;
            return this;
        }

        /** Records a sample that could not be evaluated. */
        public Builder skip(int i, String reason) {
            skipped.add(keys[i] + ": " + reason);
            return this;
        }

        public Predictions build() {
            return new Predictions(this);
        }
    }
}
