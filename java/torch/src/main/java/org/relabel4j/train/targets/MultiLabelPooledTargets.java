package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * ReLabel's LabelPooling targets for multi-label training: per class the value of the crop box pooled from the
 * image's map ({@code pooled}: the source's raw pooled scores, from a LabelPooling in logits mode without softmax;
 * classes outside a cell's top-k count as 0 there), turned into a per-class target in [0, 1]:
 *
 * <ul>
 *   <li>{@link Kind#SIGMOID}: {@code sigmoid(pooled / T)} for a teacher's logit maps; a class that is in no sampled
 *       cell's top-k (pooled exactly 0) gets 0, not sigmoid(0) = 0.5;
 *   <li>{@link Kind#VALUE}: the pooled value itself, clamped to [0, 1], for maps that hold per-cell probabilities
 *       (oracle maps: the class's covered fraction of the cell, so the target is the covered fraction of the crop;
 *       a teacher's per-cell sigmoid probabilities, so the target is their mean over the crop).
 * </ul>
 *
 * With a threshold in (0, 1), the targets are then binarized ({@code t >= threshold}). A sample without a map
 * (record index -1, data.relabel.allow_missing) gets its image-level multi-hot label.
 */
public final class MultiLabelPooledTargets implements TargetSource {
    /** How pooled scores become targets. */
    public enum Kind { SIGMOID, VALUE }

    private final TargetSource pooled;
    private final MultiHotTargets multiHot;
    private final Kind kind;
    private final double temperature, threshold;

    /**
     * @param pooled the raw pooled scores ({@link LoaderPooledTargets} or {@link ResidentPooledTargets} over a
     *     LabelPooling without softmax)
     * @param multiHot the image labels, for samples without a map
     * @param temperature T of {@link Kind#SIGMOID} (> 0; must be 1 for VALUE)
     * @param threshold 0: soft targets; in (0, 1): binarized at it
     */
    public MultiLabelPooledTargets(TargetSource pooled, MultiHotTargets multiHot, Kind kind, double temperature,
            double threshold) {
        if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        if (kind == Kind.VALUE && temperature != 1)
            throw new IllegalArgumentException("temperature " + temperature + " has no meaning for value targets (use 1)");
        if (!(threshold >= 0 && threshold < 1)) throw new IllegalArgumentException("threshold must be in [0, 1), got " + threshold);
        this.pooled = pooled;
        this.multiHot = multiHot;
        this.kind = kind;
        this.temperature = temperature;
        this.threshold = threshold;
    }

    @Override
    public Tensor targets(StepBatch batch) {
        Tensor raw = pooled.targets(batch);
        Tensor t = transform(raw, kind, temperature, threshold);
        NdArray indices = batch.host().recordIndices();
        boolean missing = false;
        for (long i = 0; i < indices.numel(); ++i) missing |= indices.getLong(i) < 0;
        if (!missing) return t;
        NdArray mask = NdArray.zeros(DType.FLOAT32, indices.numel(), 1);
        for (long i = 0; i < indices.numel(); ++i) mask.setFloat(i, indices.getLong(i) < 0 ? 1f : 0f);
        Tensor m = StepBatch.toDeviceOf(mask, t);
        return t.mul(m.neg().add(new Scalar(1))).add(multiHot.targets(batch).mul(m));
    }

    /** The targets of raw pooled scores {@code [B,C]} (see the class comment). */
    public static Tensor transform(Tensor raw, Kind kind, double temperature, double threshold) {
        Tensor t;
        if (kind == Kind.SIGMOID) {
            Tensor present = raw.ne(new Scalar(0)).to(ScalarType.Float);
            t = raw.div(new Scalar(temperature)).sigmoid().mul(present);
        } else {
            t = raw.clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0)),
                    new org.bytedeco.pytorch.ScalarOptional(new Scalar(1)));
        }
        if (threshold > 0) t = t.ge(new Scalar(threshold)).to(ScalarType.Float);
        return t;
    }

    @Override
    public String toString() {
        return "ReLabel multi-label (" + (kind == Kind.SIGMOID ? "sigmoid of the pooled logit" + (temperature != 1
                ? " / " + temperature : "") : "pooled value") + (threshold > 0 ? ", binarized at " + threshold : "")
                + "; " + pooled + ")";
    }
}
