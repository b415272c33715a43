package org.relabel4j.model;

/**
 * Construction options of the built-in models ({@link Models#create}).
 *
 * @param bnMomentum batch-norm running-statistics momentum (PyTorch's convention: {@code new = (1 - m) * old + m *
 *     batch}; torchvision's default 0.1)
 * @param bnEps batch-norm epsilon (default 1e-5)
 * @param zeroInitResidual ResNet only: start the last batch norm of every residual branch at gamma 0, so that each
 *     block starts as the identity (torchvision's {@code zero_init_residual}; off by default)
 * @param width SmallCnn only: channels of the first convolution (doubled at every stage; default 16)
 * @param stages SmallCnn only: number of stride-2 stages after the stem (default 3: 32 px input gives 4x4 features)
 * @param seed when not null, LibTorch's global generator is seeded with it ({@code torch::manual_seed}) before the
 *     weights are initialized, so that the same seed gives the same weights; null leaves the generator as it is
 * @param batchNorm SmallCnn only: false leaves out its batch norms (conv-ReLU stages; default true). Without them a
 *     step's gradient does not depend on how the batch is split between data-parallel ranks.
 */
public record ModelOptions(double bnMomentum, double bnEps, boolean zeroInitResidual, int width, int stages, Long seed,
        boolean batchNorm) {
    public ModelOptions {
        if (!(bnMomentum >= 0 && bnMomentum <= 1)) throw new IllegalArgumentException("bnMomentum must be in [0, 1]: " + bnMomentum);
        if (!(bnEps > 0)) throw new IllegalArgumentException("bnEps must be > 0: " + bnEps);
        if (width < 1) throw new IllegalArgumentException("width must be >= 1: " + width);
        if (stages < 0 || stages > 8) throw new IllegalArgumentException("stages must be in [0, 8]: " + stages);
    }

    /** torchvision's defaults: momentum 0.1, eps 1e-5, no zero-init; SmallCnn width 16 with 3 stages and batch norms; no seeding. */
    public static ModelOptions defaults() {
        return new ModelOptions(0.1, 1e-5, false, 16, 3, null, true);
    }

    public ModelOptions withBnMomentum(double v) {
        return new ModelOptions(v, bnEps, zeroInitResidual, width, stages, seed, batchNorm);
    }

    public ModelOptions withBnEps(double v) {
        return new ModelOptions(bnMomentum, v, zeroInitResidual, width, stages, seed, batchNorm);
    }

    public ModelOptions withZeroInitResidual(boolean v) {
        return new ModelOptions(bnMomentum, bnEps, v, width, stages, seed, batchNorm);
    }

    public ModelOptions withWidth(int v) {
        return new ModelOptions(bnMomentum, bnEps, zeroInitResidual, v, stages, seed, batchNorm);
    }

    public ModelOptions withStages(int v) {
        return new ModelOptions(bnMomentum, bnEps, zeroInitResidual, width, v, seed, batchNorm);
    }

    public ModelOptions withBatchNorm(boolean v) {
        return new ModelOptions(bnMomentum, bnEps, zeroInitResidual, width, stages, seed, v);
    }

    public ModelOptions withSeed(Long v) {
        return new ModelOptions(bnMomentum, bnEps, zeroInitResidual, width, stages, v, batchNorm);
    }
}
