package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;

/**
 * The dense S x S LabelPooling targets {@code [B,C,S,S]} the loader's workers pooled on the CPU next to the global
 * ones ({@code Loader.Builder.densePooling}; flipped crops get the mirrored map, as the op pools them; samples
 * without a map carry their one-hot label in every cell), copied to the batch's device.
 */
public final class LoaderDenseTargets implements TargetSource {
    @Override
    public Tensor targets(StepBatch batch) {
        if (batch.host().denseTargets() == null)
            throw new IllegalStateException("the loader pooled no dense targets: build it with densePooling(...)");
        return StepBatch.toDeviceOf(batch.host().denseTargets(), batch.images());
    }

    @Override
    public String toString() {
        return "dense ReLabel (S x S LabelPooling)";
    }
}
