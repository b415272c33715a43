package org.relabel4j.data.loader;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.relabel4j.data.Dataset;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;

/** {@link LoaderTest}'s data set and store for the tests of other modules (relabel4j-djl). */
public final class LoaderTestAccess {
    private LoaderTestAccess() {}

    /** Writes LoaderTest's image folder (3 classes, 7 images each) under {@code tmp}; returns its root. */
    public static Path writeDataset(Path tmp) throws IOException {
        LoaderTest t = new LoaderTest();
        t.tmp = tmp;
        t.writeDataset();
        return t.root;
    }

    /** Writes a store of 10-class maps for {@code ds} (leaving out {@code leaveOut}); returns its path. */
    public static Path writeStore(Path tmp, Dataset ds, Set<String> leaveOut) throws IOException {
        LoaderTest t = new LoaderTest();
        t.tmp = tmp;
        return t.writeStore(ds, leaveOut);
    }

    /** A 16-pixel loader over {@code ds} with targets from {@code store}: batch 8, 1 worker, seed 3. */
    public static Loader loader(Dataset ds, LabelMapStore store, LabelPooling pooling) {
        return Loader.builder(ds, LoaderTest.plainTrain(16)).batchSize(8).workers(1).seed(3)
                .labelMaps(store, pooling, false).build();
    }
}
