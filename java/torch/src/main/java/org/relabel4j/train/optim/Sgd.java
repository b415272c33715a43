package org.relabel4j.train.optim;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * SGD as torch.optim.SGD (dampening 0): d = g + wd p; buf = momentum buf + d (buf = d at the first step);
 * d = d + momentum buf (Nesterov) or buf; p -= lr d.
 */
public final class Sgd extends Optimizer {
    private final double momentum;
    private final boolean nesterov;

    public Sgd(TensorVector parameters, double momentum, boolean nesterov, double weightDecay, boolean noDecayOn1d) {
        super(parameters, weightDecay, noDecayOn1d);
        if (momentum < 0) throw new IllegalArgumentException("momentum must be >= 0, got " + momentum);
        if (nesterov && momentum == 0) throw new IllegalArgumentException("Nesterov momentum needs momentum > 0");
        this.momentum = momentum;
        this.nesterov = nesterov;
    }

    @Override
    protected void update(Param p, Tensor grad, double lr) {
        Tensor d = grad;
        if (weightDecay > 0 && p.decay) d = grad.add(p.value, s(weightDecay));
        if (momentum > 0) {
            Tensor buf = p.state.get("momentum");
            if (buf == null) {
                buf = keep(d.detach().clone());
                p.state.put("momentum", buf);
            } else {
                buf.mul_(s(momentum)).add_(d);
            }
            d = nesterov ? d.add(buf, s(momentum)) : buf;
        }
        p.value.add_(d, s(-lr));
    }
}
