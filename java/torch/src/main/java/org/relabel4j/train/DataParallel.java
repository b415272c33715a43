package org.relabel4j.train;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * What the training loop needs from a data-parallel job besides gradient averaging: its place in the job, the
 * initial weights of rank 0 on every rank, and sums across ranks for the metrics. {@code
 * org.relabel4j.train.dist.Distributed} implements it over PyTorch's c10d process groups (Gloo, NCCL).
 *
 * <p>Every method is a collective: all ranks call it, in the same order, with tensors of the same shapes.
 */
public interface DataParallel {
    /** This process's rank in [0, {@link #worldSize()}). */
    int rank();

    /** The number of ranks. */
    int worldSize();

    /** Overwrites {@code tensors} (parameters, buffers) on every rank with rank 0's values. */
    void broadcastFromRank0(List<Tensor> tensors);

    /** Sums {@code values} element-wise across ranks, in place. */
    void allReduceSum(double[] values);

    /**
     * The gradient reducer of a model's trainable {@code parameters} (on the model's device), created after the
     * model is built and its weights are in place; the loop calls it on every step.
     */
    GradientReducer gradientReducer(List<Tensor> parameters);

    /**
     * The exception the loop throws when a step fails: a failed collective (a rank died or hung) is turned into an
     * error that says so; anything else is returned as it is.
     */
    default RuntimeException explain(RuntimeException failure, long step) {
        return failure;
    }
}
