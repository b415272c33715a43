package org.relabel4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.jni.MappedReadFaultException;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * A store's file truncated by another program after every Java-side check passed (the race the owner's fstat check
 * cannot close): the native gather's SIGBUS on the vanished pages ends the call with {@link MappedReadFaultException}
 * and the JVM lives on. The fault guard's SIGBUS handler chains to the JVM's: a fault of a Java mapped buffer is
 * still the JVM's own {@link InternalError}, before and after a guarded fault.
 */
class MappedFaultTest {
    @TempDir
    Path tmp;

    static final MapFormat FORMAT = new MapFormat(10, 2, 8, 8, DType.FLOAT32, DType.UINT16);

    private Path store(String name, int count) throws Exception {
        Path out = tmp.resolve(name);
        float[] scores = new float[2 * 64];
        int[] ids = new int[2 * 64];
        for (int e = 0; e < scores.length; ++e) {
            scores[e] = e < 64 ? 2f : 1f;
            ids[e] = e < 64 ? 3 : 7;
        }
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, FORMAT, Map.of())) {
            for (int i = 0; i < count; ++i) w.append("k" + i, scores.clone(), ids.clone());
            w.finish();
        }
        return out;
    }

    private static void truncate(Path file, long size) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /** The JVM's handling of a fault in its own mapped buffer: InternalError, the process alive. */
    private void javaMappedFaultIsTheJvms() throws Exception {
        Path f = store("java-" + System.nanoTime() + ".rlm", 64);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            int last = buf.capacity() - 1;
            truncate(f, 4096);
            // The JVM posts its InternalError for a fault in compiled code at the thread's next safepoint: the sleep.
            assertThrows(InternalError.class, () -> {
                buf.get(last);
                Thread.sleep(1);
            });
        }
    }

    @Test
    void truncatedUnderAGatherFailsTheCallNotTheJvm() throws Exception {
        javaMappedFaultIsTheJvms();
        Path f = store("maps.rlm", 200);
        LabelPooling pool = LabelPooling.builder(10).softmax(true).build();
        NdArray boxes = NdArray.of(new float[] {0, 0, 8, 8, 2, 2, 6, 6}, 2, 4);
        try (LabelMapStore s = LabelMapStore.open(f)) {
            MapRecords checked = s.records();
            // The same mapping without the owner's check: the gather reads pages that are gone.
            MapRecords unchecked = MapRecords.of(checked.format(), checked.count(), checked.base(), -1);
            NdArray before = pool.gather(unchecked, NdArray.of(new long[] {199, 0}, 2), boxes, null);
            assertEquals(1f, sum(before, 0), 1e-5f);
            truncate(f, 4096);
            MappedReadFaultException e = assertThrows(MappedReadFaultException.class,
                    () -> pool.gather(unchecked, NdArray.of(new long[] {199, 198}, 2), boxes, null));
            assertTrue(e.getMessage().contains("truncated under the mapping"), e.getMessage());
            // The owner's check names the file for the same call through the store's own records.
            Exception named = assertThrows(RuntimeException.class,
                    () -> pool.gather(checked, NdArray.of(new long[] {199, 198}, 2), boxes, null));
            assertTrue(named.getMessage().contains(f.toString()), named.getMessage());
        }
        javaMappedFaultIsTheJvms();  // the guard's handler still hands the JVM's faults to the JVM
    }

    private static float sum(NdArray a, int row) {
        float s = 0;
        long c = a.shape(1);
        for (int j = 0; j < c; ++j) s += a.getFloat(row * c + j);
        return s;
    }
}
