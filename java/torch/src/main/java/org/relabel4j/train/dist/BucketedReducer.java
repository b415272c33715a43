package org.relabel4j.train.dist;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.relabel4j.train.GradientReducer;

/**
 * Gradient averaging after the backward pass: the gradients, in reverse parameter order (the order backward
 * produces them), are packed into flat buckets of about {@code bucketBytes}, every bucket's all-reduce is started,
 * then each is awaited, divided by the world size and unpacked. Simpler than {@link OverlappedReducer} and its
 * communication time is measurable on its own ({@link #lastWaitMillis()}); it does not overlap communication with
 * the backward pass. A parameter without a gradient on this rank contributes zeros.
 */
final class BucketedReducer implements GradientReducer {
    private record Bucket(List<Integer> params, Tensor flat) {}

    private final List<Tensor> parameters;
    private final List<Bucket> buckets = new ArrayList<>();
    private final ProcessGroup group;
    private final Scalar inverseWorld;
    private double lastMillis = Double.NaN;

    BucketedReducer(ProcessGroup group, List<Tensor> parameters, long bucketBytes, int world) {
        this.group = group;
        this.parameters = List.copyOf(parameters);
        this.inverseWorld = new Scalar(1.0 / world);
        List<Integer> current = new ArrayList<>();
        long bytes = 0;
        for (int i = parameters.size() - 1; i >= 0; --i) {
            Tensor p = parameters.get(i);
            long size = p.numel() * p.element_size();
            if (!current.isEmpty() && (bytes + size > bucketBytes || !sameKind(parameters.get(current.get(0)), p))) {
                close(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(i);
            bytes += size;
        }
        if (!current.isEmpty()) close(current);
    }

    private static boolean sameKind(Tensor a, Tensor b) {
        return a.scalar_type() == b.scalar_type() && a.device().str().getString().equals(b.device().str().getString());
    }

    private void close(List<Integer> params) {
        long n = 0;
        for (int i : params) n += parameters.get(i).numel();
        Tensor like = parameters.get(params.get(0));
        buckets.add(new Bucket(params, torch.zeros(new long[] {n}, like.options()).detach()));
    }

    /** The number of buckets. */
    int buckets() {
        return buckets.size();
    }

    @Override
    public void allReduce(List<Tensor> gradients) {
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Work> works = new ArrayList<>(buckets.size());
            for (Bucket b : buckets) {
                long offset = 0;
                for (int i : b.params) {
                    Tensor p = parameters.get(i), g = p.grad();
                    Tensor slot = b.flat.narrow(0, offset, p.numel());
                    if (g.defined()) slot.copy_(g.reshape(-1));
                    else slot.zero_();
                    offset += p.numel();
                }
                works.add(group.allreduce(new TensorVector(b.flat)));
            }
            for (int k = 0; k < buckets.size(); ++k) {
                works.get(k)._wait();
                Bucket b = buckets.get(k);
                b.flat.mul_(inverseWorld);
                long offset = 0;
                for (int i : b.params) {
                    Tensor p = parameters.get(i), g = p.grad();
                    if (g.defined()) g.copy_(b.flat.narrow(0, offset, p.numel()).view_as(g));
                    offset += p.numel();
                }
            }
        }
        lastMillis = (System.nanoTime() - t0) / 1e6;
    }

    @Override
    public double lastWaitMillis() {
        return lastMillis;
    }
}
