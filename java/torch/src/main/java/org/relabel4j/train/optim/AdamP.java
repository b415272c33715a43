package org.relabel4j.train.optim;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * AdamP (Heo et al., ICLR 2021), the optimizer of the released ReLabel CutMix recipe: Adam (optionally with
 * Nesterov momentum) whose update of a scale-invariant weight (one whose gradient is nearly orthogonal to it,
 * per output channel or as a whole) has its radial component projected out, with the weight decay reduced by
 * {@code wdRatio} for such weights. delta 0.1, wdRatio 0.1 and eps 1e-8 as the reference implementation.
 */
public final class AdamP extends Optimizer {
    private final double beta1, beta2, eps, delta, wdRatio;
    private final boolean nesterov;

    public AdamP(TensorVector parameters, double beta1, double beta2, double eps, double weightDecay, boolean nesterov,
            boolean noDecayOn1d) {
        super(parameters, weightDecay, noDecayOn1d);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.nesterov = nesterov;
        this.delta = 0.1;
        this.wdRatio = 0.1;
    }

    @Override
    protected void update(Param p, Tensor grad, double lr) {
        Tensor m = buffer(p, "exp_avg"), v = buffer(p, "exp_avg_sq");
        m.mul_(s(beta1)).add_(grad, s(1 - beta1));
        v.mul_(s(beta2)).addcmul_(grad, grad, s(1 - beta2));
        double bc1 = 1 - Math.pow(beta1, steps), bc2 = 1 - Math.pow(beta2, steps);
        Tensor denom = v.sqrt().div_(s(Math.sqrt(bc2))).add_(s(eps));
        Tensor perturb = nesterov ? m.mul(s(beta1)).add_(grad, s(1 - beta1)).div_(denom) : m.div(denom);
        double decayScale = 1;
        if (p.value.dim() > 1) {
            // Channel view ([out, -1]) first, then the whole tensor: project where the weight is scale-invariant.
            for (int view = 0; view < 2; ++view) {
                long rows = view == 0 ? p.value.size(0) : 1;
                Tensor w = p.value.reshape(rows, -1), g = grad.reshape(rows, -1);
                double columns = w.size(1);
                Tensor cosine = g.mul(w).sum(1).abs().div_(rowNorm(g).mul_(rowNorm(w)).clamp_min_(s(eps)));
                if (cosine.max().item_double() < delta / Math.sqrt(columns)) {
                    Tensor unit = w.div(rowNorm(w).unsqueeze(1).add_(s(eps)));
                    Tensor pr = perturb.reshape(rows, -1);
                    pr.sub_(unit.mul(unit.mul(pr).sum(1).unsqueeze(1)));
                    decayScale = wdRatio;
                    break;
                }
            }
        }
        if (weightDecay > 0 && p.decay) p.value.mul_(s(1 - lr * weightDecay * decayScale));
        p.value.add_(perturb, s(-lr / bc1));
    }

    /** The L2 norm of each row of a 2-D tensor. */
    private static Tensor rowNorm(Tensor x) {
        return x.mul(x).sum(1).sqrt_();
    }
}
