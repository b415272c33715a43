package org.relabel4j.data;

/**
 * A dataset whose images carry a set of class labels each (multi-label classification: COCO's 80 categories, a
 * {@code multilist:} file). {@link Sample#label()} is the smallest id of the set (0 for an empty set), kept for the
 * tools that need one label; multi-label training and evaluation read {@link #labelSet}.
 */
public interface MultiLabelDataset extends Dataset {
    /** The sorted, distinct class ids of sample {@code index} (possibly empty); the caller must not change it. */
    int[] labelSet(int index);

    /** The multi-hot row of sample {@code index} over {@code classes} classes (1 for each id of its set). */
    default float[] multiHot(int index, int classes) {
        float[] row = new float[classes];
        for (int c : labelSet(index)) {
            if (c >= classes)
                throw new IllegalArgumentException("sample " + index + " (" + sample(index).origin() + ") has class " + c
                        + ", not below " + classes);
            row[c] = 1f;
        }
        return row;
    }
}
