package org.relabel4j.train.targets;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * The image-level multi-hot label as the target, {@code [B,C]} float32 with 1 for every class of the image's label
 * set, whatever the crop shows: the multi-label baseline's source. Rows are looked up by the batch's keys in the
 * training set.
 */
public final class MultiHotTargets implements TargetSource {
    private final Map<String, int[]> sets = new HashMap<>();
    private final int classes;

    /** The label sets of {@code dataset}, over {@code classes} classes (each id must be below it). */
    public MultiHotTargets(MultiLabelDataset dataset, int classes) {
        this.classes = classes;
        for (int i = 0; i < dataset.size(); ++i) {
            int[] set = dataset.labelSet(i);
            for (int c : set)
                if (c < 0 || c >= classes)
                    throw new IllegalArgumentException(dataset.sample(i).origin() + ": class " + c + " is outside [0, "
                            + classes + ")");
            sets.put(dataset.sample(i).key(), set);
        }
    }

    @Override
    public Tensor targets(StepBatch batch) {
        return StepBatch.toDeviceOf(rows(batch.host().keys()), batch.images());
    }

    /** The multi-hot rows of these keys (host array {@code [B,C]}); an unknown key is an error. */
    public NdArray rows(java.util.List<String> keys) {
        NdArray t = NdArray.zeros(DType.FLOAT32, keys.size(), classes);
        for (int i = 0; i < keys.size(); ++i) {
            int[] set = sets.get(keys.get(i));
            if (set == null) throw new IllegalArgumentException("sample '" + keys.get(i) + "' is not in the training set");
            for (int c : set) t.setFloat((long) i * classes + c, 1f);
        }
        return t;
    }

    @Override
    public String toString() {
        return "multi-hot";
    }
}
