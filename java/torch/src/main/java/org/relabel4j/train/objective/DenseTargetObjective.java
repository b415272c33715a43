package org.relabel4j.train.objective;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.torch.Tensors;
import org.relabel4j.train.targets.StepBatch;
import org.relabel4j.train.targets.TargetPipeline;

/**
 * Dense LabelPooling supervision ({@code data.relabel.dense}): TokenLabeling's loss for any student with dense
 * logits. The pooled logits {@code [B,C]} are trained on the usual global target (soft-target cross-entropy on
 * {@code global}'s targets) and the dense logits {@code [B,C,h,w]} before pooling, at every position, on the S x S
 * LabelPooling target of that cell ({@code dense}'s targets {@code [B,C,S,S]}, S = h = w), the per-location
 * soft-target cross-entropy averaged over the batch and the positions:
 *
 * <pre>loss = CE(logits, t) + weight * mean_{b,y,x} CE(dense[b,:,y,x], T[b,:,y,x])</pre>
 *
 * Both pipelines share the transforms' settings (gt_mix, label smoothing, CutMix: the global target mixed by area,
 * the cells by MixToken's rule, {@code CutMix.mixCells}).
 */
public final class DenseTargetObjective implements Objective {
    private final TargetPipeline global, dense;
    private final double weight;

    /** {@code weight}: of the dense term, > 0 (TokenLabeling's 0.5 by default in the configuration). */
    public DenseTargetObjective(TargetPipeline global, TargetPipeline dense, double weight) {
        if (!(weight > 0) || !Double.isFinite(weight))
            throw new IllegalArgumentException("data.relabel.dense_weight must be finite and > 0, got " + weight);
        this.global = global;
        this.dense = dense;
        this.weight = weight;
    }

    @Override
    public Set<ModelOutput> outputs() {
        return EnumSet.of(ModelOutput.LOGITS, ModelOutput.DENSE);
    }

    @Override
    public Tensor loss(StepBatch batch, ModelOutputs outputs) {
        Tensor targets = dense.targets(batch);
        long[] have = Tensors.shape(outputs.dense()), want = Tensors.shape(targets);
        if (have.length != 4 || have[2] != want[2] || have[3] != want[3] || have[1] != want[1])
            throw new IllegalArgumentException("data.relabel.dense: the student's dense logits are "
                    + Arrays.toString(have) + " but the dense targets " + Arrays.toString(want)
                    + ": data.relabel.dense_size must be the student's map size h = w");
        Tensor g = Losses.softTargetCrossEntropy(outputs.logits(), global.targets(batch));
        return g.add(denseCrossEntropy(outputs.dense(), targets), new Scalar(weight));
    }

    /** mean over b, y, x of -sum_c targets[b,c,y,x] log_softmax(dense)[b,c,y,x]. */
    public static Tensor denseCrossEntropy(Tensor dense, Tensor targets) {
        return Losses.softTargetCrossEntropy(dense, targets);
    }

    public TargetPipeline global() {
        return global;
    }

    public TargetPipeline dense() {
        return dense;
    }

    public double weight() {
        return weight;
    }

    @Override
    public String describe() {
        return global.describe() + String.format(Locale.ROOT, " + dense %s (weight %s)", dense.describe(), weight);
    }
}
