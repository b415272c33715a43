package org.relabel4j.train;

import java.util.Arrays;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.SubsetDataset;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;

/**
 * The paper's label-cleaning baseline: keep only the training images whose teacher agrees with their label, where
 * the teacher's whole-image prediction is the top class of its label map pooled over the whole image (from the
 * store). Images without a label map are dropped too.
 */
public final class LabelCleaning {
    private LabelCleaning() {}

    /** The kept subset; {@code kept[0]} receives the count of images kept. */
    public static SubsetDataset filter(Dataset train, LabelMapStore store) {
        int[] keep = new int[train.size()];
        int n = 0;
        for (int i = 0; i < train.size(); ++i) {
            long record = store.find(train.sample(i).key());
            if (record < 0) continue;
            LabelMap map = store.map(record);
            var top = map.wholeImageTop(1);
            if (!top.isEmpty() && top.get(0).classId() == train.sample(i).label()) keep[n++] = i;
        }
        return new SubsetDataset(train, Arrays.copyOf(keep, n), "label cleaning with " + store.path().getFileName());
    }
}
