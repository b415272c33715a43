package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;

/**
 * ReLabel's LabelPooling targets pooled on the device from the label-map store resident there (a uint8 {@code
 * [N, recordSize]} tensor, uploaded once; per batch only boxes, flips and record indices travel): the GPU path,
 * where the loader pools nothing. Samples without a map (record index -1) get their one-hot label. With a pooling of
 * output size S > 1 the targets are the dense {@code [B,C,S,S]} ones (the gather op with S > 1), pooled on the
 * device as well.
 */
public final class ResidentPooledTargets implements TargetSource {
    private final LabelPooling pooling;
    private final Tensor records;
    private final MapFormat format;

    /** {@code records}: the store's records on the training device ({@code TensorOps.records(store)}, copied to the device). */
    public ResidentPooledTargets(LabelPooling pooling, Tensor records, MapFormat format) {
        this.pooling = pooling;
        this.records = records;
        this.format = format;
    }

    @Override
    public Tensor targets(StepBatch batch) {
        Batch b = batch.host();
        NdArray indices = b.recordIndices();
        boolean missing = false;
        for (long i = 0; i < indices.numel(); ++i) missing |= indices.getLong(i) < 0;
        if (!missing) return BatchTensors.targets(b, pooling, records, format);
        NdArray fixed = NdArray.zeros(indices.dtype(), indices.shape());
        NdArray mask = NdArray.zeros(DType.FLOAT32, indices.numel(), 1);
        for (long i = 0; i < indices.numel(); ++i) {
            long r = indices.getLong(i);
            fixed.setLong(i, Math.max(0, r));
            mask.setFloat(i, r < 0 ? 1f : 0f);
        }
        Tensor pooled = TensorOps.gather(pooling, records, format, StepBatch.toDeviceOf(fixed, records),
                StepBatch.toDeviceOf(b.boxes(), records), StepBatch.toDeviceOf(b.flips(), records));
        Tensor m = StepBatch.toDeviceOf(mask, records);
        Tensor oneHot = OneHotTargets.of(batch.labels(), batch.classes());
        if (pooling.outputSize() > 1) {  // dense targets: the label in every cell
            m = m.view(-1, 1, 1, 1);
            oneHot = oneHot.view(oneHot.size(0), oneHot.size(1), 1, 1);
        }
        return pooled.mul(m.neg().add(new Scalar(1))).add(oneHot.mul(m));
    }

    @Override
    public String toString() {
        return "ReLabel (LabelPooling on the device)";
    }
}
