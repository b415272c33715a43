package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/** The label as the target: one-hot rows {@code [B,C]} of the batch's labels (the baseline's source). */
public final class OneHotTargets implements TargetSource {
    @Override
    public Tensor targets(StepBatch batch) {
        return of(batch.labels(), batch.classes());
    }

    /** float32 one-hot rows of int64 {@code labels} {@code [B]} over {@code classes}, on their device. */
    public static Tensor of(Tensor labels, int classes) {
        return torch.one_hot(labels.to(ScalarType.Long), classes).to(ScalarType.Float);
    }

    /** One-hot rows of labels [B] over C classes (host array); a label outside [0, C) names its sample. */
    public static NdArray of(NdArray labels, int classes) {
        int n = (int) labels.numel();
        NdArray t = NdArray.zeros(DType.FLOAT32, n, classes);
        for (int i = 0; i < n; ++i) {
            long label = labels.getLong(i);
            if (label < 0 || label >= classes)
                throw new IllegalArgumentException("label " + label + " of sample " + i + " is outside [0, " + classes + ")");
            t.setFloat((long) i * classes + label, 1f);
        }
        return t;
    }

    @Override
    public String toString() {
        return "one-hot";
    }
}
