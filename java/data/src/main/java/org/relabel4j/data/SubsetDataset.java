package org.relabel4j.data;

import java.io.IOException;
import java.util.List;

/** The samples of a dataset at the given indices, renumbered 0..n-1 (keys, labels and classes unchanged). */
public final class SubsetDataset implements Dataset {
    private final Dataset base;
    private final int[] indices;
    private final String why;

    /**
     * The samples of {@code base} at {@code indices} (checked to be in range); {@code why} names the subset in
     * messages.
     */
    public SubsetDataset(Dataset base, int[] indices, String why) {
        for (int i : indices) {
            if (i < 0 || i >= base.size())
                throw new IllegalArgumentException("index " + i + " is outside the dataset of " + base.size());
        }
        this.base = base;
        this.indices = indices.clone();
        this.why = why;
    }

    @Override
    public int size() {
        return indices.length;
    }

    @Override
    public Sample sample(int index) {
        Sample s = base.sample(indices[index]);
        return new Sample(index, s.key(), s.label(), s.origin());
    }

    @Override
    public List<String> classes() {
        return base.classes();
    }

    @Override
    public byte[] read(int index) throws IOException {
        return base.read(indices[index]);
    }

    @Override
    public String description() {
        return base.description() + ", " + indices.length + " kept (" + why + ")";
    }
}
