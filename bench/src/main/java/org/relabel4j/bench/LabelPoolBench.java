package org.relabel4j.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Pointer;
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
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;

/**
 * LabelPooling of a batch of B crops (k=5, 15x15 maps, C=1000) through the Java API on host arrays:
 * {@code LabelPooling.apply(scores, ids, boxes, null, out)}. S=1 with softmax (ReLabel's targets) and S=7 (dense
 * logits, 196 KB of output per crop); fp16 scores with uint16 ids, or fp32 scores with int32 ids; 1 or 2 threads
 * of the op's own threading ({@code LabelPooling.builder(C).threads(n)}). Excluded from the timing (setup): input
 * generation and the output buffer, which is reused. Included: argument checks (every box is checked on the host)
 * and the JNI call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LabelPoolBench {

    @State(Scope.Thread)
    public static class Batch {
        @Param({"fp16", "fp32"})
        public String scores;
        /** Output size S: 1 (with softmax: the ReLabel target) or 7 (logits). */
        @Param({"1", "7"})
        public int S;
        @Param({"64", "256", "1024"})
        public int batch;
        @Param({"1", "2"})
        public int threads;

        LabelPooling pooling;
        NdArray scoreArray, idArray, boxes, out;

        @Setup(Level.Trial)
        public void setup() {
            Inputs.Maps m = Inputs.maps(batch, Inputs.SEED_MAPS);
            if (!scores.equals("fp16") && !scores.equals("fp32"))
                throw new IllegalArgumentException("scores must be fp16 or fp32, got " + scores);
            boolean fp16 = scores.equals("fp16");
            scoreArray = m.scores(fp16 ? DType.FLOAT16 : DType.FLOAT32);
            idArray = m.ids(fp16 ? DType.UINT16 : DType.INT32);
            boxes = m.boxesArray();
            pooling = LabelPooling.builder(Inputs.CLASSES).outputSize(S).softmax(S == 1).threads(threads).build();
            out = NdArray.zeros(DType.FLOAT32, pooling.outputShape(batch));
        }
    }

    /** Bytes moved per op at least: see {@link Inputs#poolBytes}. */
    public static double bytesPerOp(String scores, int s, int batch) {
        int b = scores.equals("fp16") ? 2 : 4;
        return Inputs.poolBytes(Inputs.maps(batch, Inputs.SEED_MAPS), s, b, b);
    }

    @Benchmark
    public NdArray label_pool(Batch st) {
        st.pooling.apply(st.scoreArray, st.idArray, st.boxes, null, st.out);
        return st.out;
    }

    /**
     * The same job (fp16, S=1, softmax, one thread) as one direct call of the C ABI through the JavaCPP binding,
     * with the spec, parameters and pointers made in setup: the floor under {@link #label_pool}; the difference is
     * the Java facade's per-call cost (argument checks, small native structs).
     */
    @State(Scope.Thread)
    public static class Abi {
        @Param({"64", "256", "1024"})
        public int batch;

        RelabelNative.MapSpec spec;
        RelabelNative.PoolParams params;
        Pointer scores, ids, boxes, out;
        NdArray[] keep;  // the arrays behind the pointers

        @Setup(Level.Trial)
        public void setup() {
            Inputs.Maps m = Inputs.maps(batch, Inputs.SEED_MAPS);
            NdArray s = m.scores(DType.FLOAT16), i = m.ids(DType.UINT16), b = m.boxesArray(),
                    o = NdArray.zeros(DType.FLOAT32, batch, Inputs.CLASSES);
            keep = new NdArray[] {s, i, b, o};
            scores = new Pointer(s.buffer());
            ids = new Pointer(i.buffer());
            boxes = new Pointer(b.buffer());
            out = new Pointer(o.buffer());
            spec = new RelabelNative.MapSpec().k(Inputs.K).height(Inputs.SIDE).width(Inputs.SIDE)
                    .classes(Inputs.CLASSES).score_dtype(RelabelNative.F16).index_dtype(RelabelNative.U16);
            params = new RelabelNative.PoolParams().out_size(1).mode(RelabelNative.MODE_LOGITS)
                    .box_order(RelabelNative.BOX_XYXY).softmax(1).temperature(1f).num_threads(1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            spec.close();
            params.close();
        }
    }

    @Benchmark
    public Pointer label_pool_abi(Abi st) {
        NativeStatus.check(RelabelNative.relabel_label_pool(st.spec, st.params, st.scores, st.ids, st.batch, st.boxes,
                null, st.out, null), "label_pool");
        return st.out;
    }
}
