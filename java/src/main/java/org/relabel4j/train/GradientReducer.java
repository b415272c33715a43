package org.relabel4j.train;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * The data-parallel point of the training loop: after the backward pass of a step and before gradient clipping and
 * the optimizer, every rank hands its gradients here; an implementation averages them across the ranks in place
 * (all-reduce, then divide by the world size). A single process needs none ({@link #NONE}).
 */
public interface GradientReducer {
    /** Averages {@code gradients} (the defined gradients of the parameters, in parameter order) across ranks. */
    void allReduce(List<Tensor> gradients);

    /** The single-process reducer: leaves the gradients as they are. */
    GradientReducer NONE = gradients -> {};
}
