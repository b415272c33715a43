package org.relabel4j.train;

import java.util.Locale;

/**
 * The released ReLabel learning-rate schedule, per iteration: a linear warmup from warmupLr to the base rate over
 * warmupEpochs, then cosine ("cos"), linear, step ("default": x0.1 every 30 epochs; "step": x gamma every
 * stepEpochs) decay of the base rate over the remaining epochs.
 */
public record LrSchedule(double base, String decay, int epochs, double warmupEpochs, double warmupLr, int stepEpochs,
        double stepGamma) {
    public LrSchedule {
        decay = decay.toLowerCase(Locale.ROOT);
    }

    public static LrSchedule of(TrainConfig c) {
        return new LrSchedule(c.lr(), c.string("optim.lr.decay_type"), c.integer("optim.epochs"),
                c.warmupEpochs(), c.number("optim.warmup.lr"), c.integer("optim.lr.step_epochs"),
                c.number("optim.lr.step_gamma"));
    }

    /** The rate at iteration {@code iteration} of {@code epoch}, with {@code perEpoch} iterations per epoch. */
    public double at(int epoch, long iteration, long perEpoch) {
        double done = iteration + (double) epoch * perEpoch;  // iterations done: a warmup may end mid-epoch
        if (done < warmupEpochs * perEpoch) return warmupLr + (base - warmupLr) * done / (warmupEpochs * perEpoch);
        double total = (epochs - warmupEpochs) * perEpoch, current = iteration + (epoch - warmupEpochs) * perEpoch;
        return base * switch (decay) {
            case "cos" -> 0.5 * (Math.cos(Math.PI * current / total) + 1);
            case "linear" -> 1 - current / total;
            case "default" -> Math.pow(0.1, epoch / 30);
            case "step" -> Math.pow(stepGamma, epoch / Math.max(1, stepEpochs));
            default -> throw new IllegalArgumentException("unknown lr decay '" + decay + "'");
        };
    }
}
