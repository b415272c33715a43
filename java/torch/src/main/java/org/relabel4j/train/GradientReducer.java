package org.relabel4j.train;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * The data-parallel point of the training loop: after the backward pass of a step and before gradient clipping and
 * the optimizer, every rank hands its gradients here; an implementation averages them across the ranks in place
 * (all-reduce, then divide by the world size). A single process needs none ({@link #NONE}).
 *
 * <p>An implementation that overlaps communication with the backward pass (buckets all-reduced as their gradients
 * become ready) arms itself in {@link #beforeBackward()}; its {@link #allReduce} then only has to find the work
 * done.
 */
public interface GradientReducer {
    /** Averages {@code gradients} (the defined gradients of the parameters, in parameter order) across ranks. */
    void allReduce(List<Tensor> gradients);

    /** Called on every step after the forward pass and right before the backward pass. */
    default void beforeBackward() {}

    /**
     * Milliseconds the last step spent waiting for gradient communication outside the backward pass (NaN when not
     * measured); logged as {@code allreduce_ms} in the step records.
     */
    default double lastWaitMillis() {
        return Double.NaN;
    }

    /** The single-process reducer: leaves the gradients as they are. */
    GradientReducer NONE = gradients -> {};
}
