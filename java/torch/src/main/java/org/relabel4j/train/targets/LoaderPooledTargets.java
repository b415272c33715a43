package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;

/**
 * ReLabel's LabelPooling targets as the loader's workers pooled them on the CPU ({@code Loader.Builder.labelMaps}
 * with a LabelPooling; samples without a map carry their one-hot label when the loader allows them), copied to the
 * batch's device.
 */
public final class LoaderPooledTargets implements TargetSource {
    @Override
    public Tensor targets(StepBatch batch) {
        if (batch.host().targets() == null)
            throw new IllegalStateException("the loader pooled no targets: build it with labelMaps(store, pooling, ...)");
        return StepBatch.toDeviceOf(batch.host().targets(), batch.images());
    }

    @Override
    public String toString() {
        return "ReLabel (LabelPooling)";
    }
}
