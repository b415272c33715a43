package org.relabel4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Pointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.relabel4j.cuda.Cuda;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;

/**
 * The CUDA ops on device 0 (run only where a CUDA device exists: {@link Main} excludes this class otherwise).
 * Inputs live in device memory (made in setup with the native core's CUDA runtime); an invocation queues
 * {@value #REPS} back-to-back launches on the default stream and synchronizes once, so a score is the amortized
 * time per batch of a training loop's steady state (launch overhead included, one sync per 20 ops).
 *
 * <ul>
 *   <li>{@code label_pool}: fp16 scores, uint16 ids, S=1 softmax or S=7 logits, B crops;</li>
 *   <li>{@code label_pool_gather}: S=1 softmax from the benchmark store's 20,000 records resident on the device
 *       ({@code LabelMapStore.uploadToCuda});</li>
 *   <li>{@code label_pool_gather_api}: the same through {@code LabelPooling.gather(MapRecords, ...)} with host
 *       indices and boxes: upload, kernel, synchronize, and the [B,C] output copied back to the host, per op;</li>
 *   <li>{@code topk_compress}: fp32 or fp16 logits to k=5 fp16 maps;</li>
 *   <li>{@code copy}: a 256 MiB device-to-device cudaMemcpy, the HBM bandwidth probe.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CudaBench {
    static final int DEVICE = 0;
    static final int REPS = 20;

    static void check(int status, String what) {
        NativeStatus.check(status, what);
    }

    static RelabelNative.MapSpec spec() {
        return new RelabelNative.MapSpec().k(Inputs.K).height(Inputs.SIDE).width(Inputs.SIDE).classes(Inputs.CLASSES)
                .score_dtype(RelabelNative.F16).index_dtype(RelabelNative.U16);
    }

    static RelabelNative.PoolParams params(int s) {
        return new RelabelNative.PoolParams().out_size(s).mode(RelabelNative.MODE_LOGITS)
                .box_order(RelabelNative.BOX_XYXY).softmax(s == 1 ? 1 : 0).temperature(1f).num_threads(1);
    }

    @State(Scope.Thread)
    public static class Pool {
        @Param({"1", "7"})
        public int S;
        @Param({"64", "256", "1024"})
        public int batch;

        CudaBuffer scores, ids, boxes, out;
        RelabelNative.MapSpec spec;
        RelabelNative.PoolParams params;

        @Setup(Level.Trial)
        public void setup() {
            Cuda.require(DEVICE);
            Inputs.Maps m = Inputs.maps(batch, Inputs.SEED_MAPS);
            scores = CudaBuffer.upload(DEVICE, m.scores(DType.FLOAT16));
            ids = CudaBuffer.upload(DEVICE, m.ids(DType.UINT16));
            boxes = CudaBuffer.upload(DEVICE, m.boxesArray());
            out = CudaBuffer.allocate(DEVICE, 4L * batch * Inputs.CLASSES * S * S);
            spec = spec();
            params = params(S);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (CudaBuffer b : new CudaBuffer[] {scores, ids, boxes, out}) if (b != null) b.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public void label_pool(Pool st) {
        for (int r = 0; r < REPS; ++r)
            check(RelabelNative.relabel_cuda_label_pool(st.spec, st.params, st.scores.pointer(), st.ids.pointer(),
                    st.batch, st.boxes.pointer(), null, st.out.pointer(), null, DEVICE, null), "cuda label_pool");
        check(RelabelNative.relabel_cuda_synchronize(DEVICE, null), "cuda synchronize");
    }

    @State(Scope.Thread)
    public static class Gather {
        @Param({"64", "256", "1024"})
        public int batch;

        LabelMapStore store;
        LabelMapStore.DeviceRecords records;
        CudaBuffer indices, boxes, out;
        NdArray hostIndices, hostBoxes;
        RelabelNative.MapSpec spec;
        RelabelNative.PoolParams params;
        LabelPooling pooling;

        @Setup(Level.Trial)
        public void setup() {
            Cuda.require(DEVICE);
            store = BenchStore.openWarm();
            records = store.uploadToCuda(DEVICE);
            hostIndices = NdArray.of(Inputs.recordIndices(batch, store.size(), Inputs.SEED_RECORD_INDICES), batch);
            hostBoxes = NdArray.of(Inputs.boxes(batch, new SplittableRandom(Inputs.SEED_BOXES)), batch, 4);
            indices = CudaBuffer.upload(DEVICE, hostIndices);
            boxes = CudaBuffer.upload(DEVICE, hostBoxes);
            out = CudaBuffer.allocate(DEVICE, 4L * batch * Inputs.CLASSES);
            spec = spec();
            params = params(1);
            pooling = LabelPooling.builder(Inputs.CLASSES).softmax(true).build();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (CudaBuffer b : new CudaBuffer[] {indices, boxes, out}) if (b != null) b.close();
            if (records != null) records.close();
            if (store != null) store.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public void label_pool_gather(Gather st) {
        Pointer base = st.records.buffer().pointer();
        for (int r = 0; r < REPS; ++r)
            check(RelabelNative.relabel_cuda_label_pool_gather(st.spec, st.params, base, st.store.size(),
                    st.indices.pointer(), st.batch, st.boxes.pointer(), null, st.out.pointer(), null, DEVICE, null),
                    "cuda label_pool_gather");
        check(RelabelNative.relabel_cuda_synchronize(DEVICE, null), "cuda synchronize");
    }

    @Benchmark
    public NdArray label_pool_gather_api(Gather st) {
        return st.pooling.gather(st.records.records(), st.hostIndices, st.hostBoxes, null);
    }

    @State(Scope.Thread)
    public static class Dense {
        @Param({"256x1000x15x15", "64x21843x7x7"})
        public String shape;
        @Param({"fp32", "fp16"})
        public String input;

        int[] s;
        CudaBuffer dense, scores, ids, flags;
        int inputType, idType;

        @Setup(Level.Trial)
        public void setup() {
            Cuda.require(DEVICE);
            s = TopKBench.parse(shape);
            boolean fp16 = input.equals("fp16");
            dense = CudaBuffer.upload(DEVICE, Inputs.dense(s[0], s[1], s[2], fp16 ? DType.FLOAT16 : DType.FLOAT32,
                    Inputs.SEED_DENSE));
            inputType = fp16 ? RelabelNative.F16 : RelabelNative.F32;
            idType = s[1] <= 65535 ? RelabelNative.U16 : RelabelNative.I32;
            long cells = (long) s[0] * 5 * s[2] * s[2];
            scores = CudaBuffer.allocate(DEVICE, 2 * cells);
            ids = CudaBuffer.allocate(DEVICE, (idType == RelabelNative.U16 ? 2 : 4) * cells);
            flags = CudaBuffer.zeros(DEVICE, 4);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (CudaBuffer b : new CudaBuffer[] {dense, scores, ids, flags}) if (b != null) b.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public void topk_compress(Dense st) {
        for (int r = 0; r < REPS; ++r)
            check(RelabelNative.relabel_cuda_topk_compress(st.dense.pointer(), st.inputType, st.s[0], st.s[1], st.s[2],
                    st.s[2], 5, st.scores.pointer(), RelabelNative.F16, st.ids.pointer(), st.idType,
                    st.flags.pointer(), DEVICE, null), "cuda topk_compress");
        check(RelabelNative.relabel_cuda_synchronize(DEVICE, null), "cuda synchronize");
    }

    @State(Scope.Thread)
    public static class Copy {
        CudaBuffer src, dst;

        @Setup(Level.Trial)
        public void setup() {
            Cuda.require(DEVICE);
            src = CudaBuffer.zeros(DEVICE, BandwidthBench.BYTES);
            dst = CudaBuffer.zeros(DEVICE, BandwidthBench.BYTES);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (src != null) src.close();
            if (dst != null) dst.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public void copy(Copy st) {
        for (int r = 0; r < REPS; ++r)
            check(RelabelNative.relabel_cuda_memcpy(st.dst.pointer(), st.src.pointer(), BandwidthBench.BYTES, 3),
                    "cuda memcpy D2D");
        check(RelabelNative.relabel_cuda_synchronize(DEVICE, null), "cuda synchronize");
    }
}
