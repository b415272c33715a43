package org.relabel4j.train.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * A first-order optimizer over LibTorch parameters, written with tensor ops so that its whole state is ours: the
 * learning rate is an argument of every step (no copied options to chase), and the state tensors are named for
 * checkpoints ({@link #state()}, {@link #loadState}). Parameters with one dimension (biases, batch-norm weights)
 * can be exempted from weight decay.
 */
public abstract class Optimizer implements AutoCloseable {
    /** One parameter with its decay flag and state. */
    protected static final class Param {
        final Tensor value;
        final boolean decay;
        final Map<String, Tensor> state = new LinkedHashMap<>();

        Param(Tensor value, boolean decay) {
            this.value = value;
            this.decay = decay;
        }
    }

    protected final List<Param> params = new ArrayList<>();
    protected final double weightDecay;
    protected long steps;

    protected Optimizer(TensorVector parameters, double weightDecay, boolean noDecayOn1d) {
        if (weightDecay < 0) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        this.weightDecay = weightDecay;
        for (long i = 0; i < parameters.size(); ++i) {
            Tensor p = new Tensor(parameters.get(i));  // not a handle into the vector, which may be freed first
            params.add(new Param(p, !(noDecayOn1d && p.dim() <= 1)));
        }
    }

    /** Applies one update with learning rate {@code lr} from the parameters' gradients (missing ones are skipped). */
    public final void step(double lr) {
        try (AutoGradMode noGrad = new AutoGradMode(false)) {
            ++steps;
            for (Param p : params) {
                Tensor g = p.value.grad();
                if (g == null || !g.defined()) continue;
                update(p, g, lr);
            }
        }
    }

    protected abstract void update(Param p, Tensor grad, double lr);

    /** Clears the gradients. */
    public final void zeroGrad() {
        try (AutoGradMode noGrad = new AutoGradMode(false)) {
            for (Param p : params) {
                Tensor g = p.value.grad();
                if (g != null && g.defined()) g.zero_();
            }
        }
    }

    /** Frees the state buffers (momentum, moments); the optimizer cannot step afterwards. */
    @Override
    public void close() {
        for (Param p : params) {
            for (Tensor t : p.state.values()) t.releaseReference();
            p.state.clear();
        }
        params.clear();
    }

    /** Steps taken so far. */
    public long steps() {
        return steps;
    }

    /** The state tensors by name ("<param index>.<buffer>"), plus nothing else: steps are saved by the caller. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); ++i) {
            for (Map.Entry<String, Tensor> e : params.get(i).state.entrySet()) s.put(i + "." + e.getKey(), e.getValue());
        }
        return s;
    }

    /** Restores state saved by {@link #state()} (tensors copied to each parameter's device) and the step count. */
    public void loadState(Map<String, Tensor> state, long steps) {
        this.steps = steps;
        try (AutoGradMode noGrad = new AutoGradMode(false)) {
            for (Map.Entry<String, Tensor> e : state.entrySet()) {
                String key = e.getKey();
                int dot = key.indexOf('.');
                int index = Integer.parseInt(key.substring(0, dot));
                if (index < 0 || index >= params.size())
                    throw new IllegalArgumentException("optimizer state '" + key + "' names parameter " + index + " of "
                            + params.size());
                Param p = params.get(index);
                Tensor buffer = keep(p.value.detach().clone());
                buffer.copy_(e.getValue());
                p.state.put(key.substring(dot + 1), buffer);
            }
        }
    }

    /** A state buffer of p (zeros like p on first use). */
    protected static Tensor buffer(Param p, String name) {
        Tensor b = p.state.get(name);
        if (b == null) {
            b = keep(p.value.detach().clone());
            b.zero_();
            p.state.put(name, b);
        }
        return b;
    }

    /**
     * Marks a state tensor as owned by the optimizer: steps run inside the trainer's per-step PointerScope, which
     * would otherwise free a buffer created during a step when the step ends.
     */
    protected static Tensor keep(Tensor t) {
        t.retainReference();
        return t;
    }

    protected static Scalar s(double v) {
        return new Scalar(v);
    }
}
