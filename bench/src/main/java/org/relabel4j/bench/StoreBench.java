package org.relabel4j.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapRecords;
import org.relabel4j.store.LabelMapStore;

/**
 * The label-map store ({@link BenchStore}: 20,000 records, 91 MB, memory-mapped). Excluded (setup): building the
 * store file (once per JVM), opening it and reading every record once so that it sits in the page cache, the
 * random record numbers and keys, and the caller's buffers. So these are warm-cache numbers: a store larger than
 * the page cache adds the disk's random-read cost.
 *
 * <ul>
 *   <li>{@code gather}: 1024 random records copied into a caller buffer ({@code LabelMapStore.gather(long[],
 *       NdArray)}, uint8 [1024, 4544]);</li>
 *   <li>{@code find}: one key lookup ({@code LabelMapStore.find}, a binary search over the key index), cycling
 *       through 1024 random keys;</li>
 *   <li>{@code label_pool_gather}: LabelPooling (S=1, softmax) of B crops whose maps are read in place from the
 *       mapping: {@code pooling.gather(store.records(), indices, boxes, null)}. That API allocates and zeroes its
 *       [B,C] output per call (it has no output-buffer overload);</li>
 *   <li>{@code label_pool_gather_reuse}: the same over an NdArray view of the same mapped records, with the
 *       output buffer reused ({@code pooling.gather(records, format, indices, boxes, null, out)}).</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StoreBench {
    /** Records per gather op. */
    public static final int GATHER = 1024;

    @State(Scope.Thread)
    public static class Store {
        LabelMapStore store;
        long[] records;
        String[] keys;
        NdArray dst;
        int next;

        @Setup(Level.Trial)
        public void setup() {
            store = BenchStore.openWarm();
            records = Inputs.recordIndices(GATHER, store.size(), Inputs.SEED_RECORD_INDICES);
            keys = new String[GATHER];
            for (int i = 0; i < GATHER; ++i) keys[i] = store.key(records[i]);
            dst = NdArray.zeros(DType.UINT8, GATHER, store.recordSize());
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    @Benchmark
    public NdArray gather(Store st) {
        st.store.gather(st.records, st.dst);
        return st.dst;
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long find(Store st) {
        return st.store.find(st.keys[st.next++ & (GATHER - 1)]);
    }

    /** Bytes per gather op: each record read once and written once. */
    public static double gatherBytesPerOp() {
        return 2.0 * GATHER * BenchStore.FORMAT.layout().recordSize();
    }

    @State(Scope.Thread)
    public static class Pool {
        @Param({"64", "256", "1024"})
        public int batch;
        @Param({"1", "2"})
        public int threads;

        LabelMapStore store;
        MapRecords records;
        NdArray mappedRecords, indices, boxes, out;
        LabelPooling pooling;

        @Setup(Level.Trial)
        public void setup() {
            store = BenchStore.openWarm();
            records = store.records();
            mappedRecords = mapRecords(store);
            indices = NdArray.of(Inputs.recordIndices(batch, store.size(), Inputs.SEED_RECORD_INDICES), batch);
            boxes = NdArray.of(Inputs.boxes(batch, new SplittableRandom(Inputs.SEED_BOXES)), batch, 4);
            pooling = LabelPooling.builder(Inputs.CLASSES).softmax(true).threads(threads).build();
            out = NdArray.zeros(DType.FLOAT32, pooling.outputShape(batch));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    /** uint8 [N, recordSize] over the records of the store file, mapped read-only (a second mapping). */
    static NdArray mapRecords(LabelMapStore store) {
        try (FileChannel ch = FileChannel.open(store.path(), StandardOpenOption.READ)) {
            ByteBuffer header = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(header, 0);
            long recordsOffset = header.getLong(56);  // docs/store-format.md: u64 records offset at 56
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, recordsOffset, store.size() * store.recordSize());
            return NdArray.wrap(DType.UINT8, map, store.size(), store.recordSize());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Benchmark
    public NdArray label_pool_gather(Pool st) {
        return st.pooling.gather(st.records, st.indices, st.boxes, null);
    }

    @Benchmark
    public NdArray label_pool_gather_reuse(Pool st) {
        st.pooling.gather(st.mappedRecords, BenchStore.FORMAT, st.indices, st.boxes, null, st.out);
        return st.out;
    }

    /** Bytes per label_pool_gather op: the output, the sampled cells' entries (fp16 + uint16), the indices. */
    public static double poolBytesPerOp(int batch) {
        float[] boxes = Inputs.boxes(batch, new SplittableRandom(Inputs.SEED_BOXES));
        Inputs.Maps m = new Inputs.Maps(batch, Inputs.K, Inputs.SIDE, Inputs.SIDE, Inputs.CLASSES, null, null, boxes);
        return Inputs.poolBytes(m, 1, 2, 2) + 8.0 * batch;
    }
}
