package org.relabel4j.train.optim;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * AdamW (Loshchilov and Hutter) as torch.optim.AdamW: decoupled decay p *= 1 - lr wd; m, v moving averages;
 * p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps).
 */
public final class AdamW extends Optimizer {
    private final double beta1, beta2, eps;

    public AdamW(TensorVector parameters, double beta1, double beta2, double eps, double weightDecay, boolean noDecayOn1d) {
        super(parameters, weightDecay, noDecayOn1d);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    protected void update(Param p, Tensor grad, double lr) {
        if (weightDecay > 0 && p.decay) p.value.mul_(s(1 - lr * weightDecay));
        Tensor m = buffer(p, "exp_avg"), v = buffer(p, "exp_avg_sq");
        m.mul_(s(beta1)).add_(grad, s(1 - beta1));
        v.mul_(s(beta2)).addcmul_(grad, grad, s(1 - beta2));
        double bc1 = 1 - Math.pow(beta1, steps), bc2 = 1 - Math.pow(beta2, steps);
        Tensor denom = v.sqrt().div_(s(Math.sqrt(bc2))).add_(s(eps));
        p.value.addcdiv_(m, denom, s(-lr / bc1));
    }
}
