package org.relabel4j.train.targets;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A batch's targets: a {@link TargetSource}, then the {@link TargetTransform}s in their fixed order:
 *
 * <ol>
 *   <li>the source: one-hot labels, or ReLabel's pooled label maps ({@link OneHotTargets}, {@link
 *       LoaderPooledTargets}, {@link ResidentPooledTargets});
 *   <li>{@link GtMix}: the label blended into pooled targets ({@code data.relabel.gt_mix});
 *   <li>{@link LabelSmoothing} ({@code optim.label_smoothing}), on whatever targets it gets;
 *   <li>{@link CutMix}: the targets of the pasted box's image mixed in by area (last, so that every earlier job
 *       applies to each image's own target before images are mixed).
 * </ol>
 *
 * {@link #of} builds that order from the settings and leaves out the jobs that would change nothing (gt_mix 0,
 * smoothing 0, CutMix off), so a baseline's targets are exactly its source's.
 */
public record TargetPipeline(TargetSource source, List<TargetTransform> transforms) {
    public TargetPipeline {
        transforms = List.copyOf(transforms);
    }

    /** {@code source}, then gt_mix {@code gtMix}, smoothing {@code smoothing}, {@code cutmix} (null: none). */
    public static TargetPipeline of(TargetSource source, double gtMix, double smoothing, CutMix cutmix) {
        List<TargetTransform> t = new ArrayList<>();
        if (gtMix != 0) t.add(new GtMix(gtMix));
        if (smoothing != 0) t.add(new LabelSmoothing(smoothing));
        if (cutmix != null && cutmix.enabled()) t.add(cutmix);
        return new TargetPipeline(source, t);
    }

    /** The batch's targets: the source's, through every transform in order. */
    public Tensor targets(StepBatch batch) {
        Tensor t = source.targets(batch);
        for (TargetTransform transform : transforms) t = transform.apply(t, batch);
        return t;
    }

    /** E.g. "ReLabel (LabelPooling), gt_mix 0.3, label smoothing 0.1, CutMix (prob 1.0, beta 1.0)". */
    public String describe() {
        StringBuilder sb = new StringBuilder(source.toString());
        for (TargetTransform t : transforms) sb.append(", ").append(t);
        return sb.toString();
    }
}
