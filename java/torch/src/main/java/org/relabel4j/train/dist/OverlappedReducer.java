package org.relabel4j.train.dist;

import java.util.List;
import org.bytedeco.pytorch.BoolVector;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.Reducer;
import org.bytedeco.pytorch.SizeTStringMap;
import org.bytedeco.pytorch.SizeTVector;
import org.bytedeco.pytorch.SizeTVectorVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.relabel4j.train.GradientReducer;

/**
 * Gradient averaging by c10d's {@code Reducer}, the engine of PyTorch's DistributedDataParallel, driven as DDP
 * drives it: autograd hooks on the parameters copy each gradient into its bucket as the backward pass produces it,
 * a full bucket is all-reduced at once (asynchronously, while the backward pass goes on), and the end of the
 * backward pass waits for the buckets and leaves the averages in the gradients, which become views into the
 * buckets (DDP's {@code gradient_as_bucket_view}). Like DDP, the first step runs with one bucket and records the
 * order in which the gradients arrive; the buckets are then rebuilt in that order, in sizes of {@code bucketBytes}
 * (the first 1 MiB, so that communication starts early), identically on every rank.
 *
 * <p>Every trainable parameter must receive a gradient on every step (DDP's {@code find_unused_parameters=False}).
 */
final class OverlappedReducer implements GradientReducer {
    /** DDP's _DEFAULT_FIRST_BUCKET_BYTES. */
    static final long FIRST_BUCKET_BYTES = 1 << 20;
    private final Reducer reducer;
    private final TensorVector parameters;

    OverlappedReducer(ProcessGroup group, List<Tensor> parameters, long bucketBytes) {
        if (parameters.isEmpty()) throw new IllegalArgumentException("no trainable parameters to reduce");
        this.parameters = new TensorVector();
        SizeTVector all = new SizeTVector();
        BoolVector sparse = new BoolVector();
        for (int i = 0; i < parameters.size(); ++i) {
            this.parameters.push_back(parameters.get(i));
            all.push_back(i);
            sparse.push_back(false);
        }
        reducer = new Reducer(this.parameters, new SizeTVectorVector(all), group, sparse, bucketBytes,
                /* find_unused_parameters */ false, /* gradient_as_bucket_view */ true, new SizeTStringMap(),
                FIRST_BUCKET_BYTES, /* skip_all_reduce_unused_params */ false, /* use_python_reducer */ false);
    }

    @Override
    public void beforeBackward() {
        reducer.prepare_for_forward();
        reducer.rebuild_buckets();  // after the first step only (a collective: rank 0's order wins)
        reducer.prepare_for_backward(new TensorVector());
    }

    @Override
    public void allReduce(List<Tensor> gradients) {
        // The backward pass has averaged them already.
    }
}
