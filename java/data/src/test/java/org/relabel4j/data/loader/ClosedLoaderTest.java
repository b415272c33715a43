package org.relabel4j.data.loader;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Datasets;

/**
 * Closed {@link Batch}, {@link Loader.Epoch} and {@link Loader}: every method throws an IllegalStateException naming
 * the object (before, a closed batch still answered boxes/flips/labels from recycled buffers, and
 * {@code epoch.next()} after {@code loader.close()} threw a raw RejectedExecutionException).
 */
class ClosedLoaderTest {
    @TempDir Path tmp;

    Loader loader() throws IOException {
        LoaderTest base = new LoaderTest();
        base.tmp = tmp;
        base.writeDataset();
        return Loader.builder(Datasets.open("imagefolder:" + base.root), LoaderTest.plainTrain(16)).batchSize(4)
                .workers(1).prefetch(2).seed(1).build();
    }

    static void assertAllThrow(Map<String, Executable> calls, String name) {
        for (Map.Entry<String, Executable> e : calls.entrySet()) {
            IllegalStateException x = assertThrows(IllegalStateException.class, e.getValue(), e.getKey());
            assertTrue(x.getMessage().contains(name) && x.getMessage().contains("closed"), e.getKey() + ": " + x.getMessage());
        }
    }

    @Test
    void aClosedBatchThrowsFromEveryMethod() throws IOException {
        try (Loader l = loader(); Loader.Epoch e = l.epoch(0)) {
            Batch b = e.next();
            assertTrue(b.size() == 4 && b.boxes().shape(0) == 4, "open: it works");
            b.close();
            b.close();  // idempotent
            Map<String, Executable> m = new LinkedHashMap<>();
            m.put("size", b::size);
            m.put("epoch", b::epoch);
            m.put("index", b::index);
            m.put("keys", b::keys);
            m.put("images", b::images);
            m.put("boxes", b::boxes);
            m.put("flips", b::flips);
            m.put("labels", b::labels);
            m.put("recordIndices", b::recordIndices);
            m.put("targets", b::targets);
            m.put("skipped", b::skipped);
            m.put("decodeNanos", b::decodeNanos);
            m.put("labelNanos", b::labelNanos);
            assertAllThrow(m, "batch 0 of epoch 0");
        }
    }

    @Test
    void aClosedEpochThrows() throws IOException {
        try (Loader l = loader()) {
            Loader.Epoch e = l.epoch(0);
            e.next().close();
            e.close();
            e.close();
            assertAllThrow(Map.of("hasNext", e::hasNext, "next", e::next), "epoch 0 of the loader");
            try (Loader.Epoch again = l.epoch(0)) {
                assertTrue(again.hasNext(), "the loader itself still works");
            }
        }
    }

    @Test
    void aClosedLoaderThrowsFromEveryMethodAndItsEpochs() throws IOException {
        Loader l = loader();
        Loader.Epoch e = l.epoch(0);
        Batch taken = e.next();
        l.close();
        l.close();
        assertTrue(taken.size() == 4, "a batch taken before the close stays readable until closed");
        taken.close();
        Map<String, Executable> m = new LinkedHashMap<>();
        m.put("epoch.next", e::next);
        m.put("epoch.hasNext", e::hasNext);
        m.put("epoch(int)", () -> l.epoch(1));
        m.put("epoch(int, int)", () -> l.epoch(1, 0));
        m.put("dataset", l::dataset);
        m.put("batchSize", l::batchSize);
        m.put("order", () -> l.order(0));
        m.put("batchesPerEpoch", l::batchesPerEpoch);
        m.put("stats", l::stats);
        assertAllThrow(m, "the loader (21 samples, batch size 4)");
        e.close();
    }
}
