package org.relabel4j.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/**
 * The references for {@code label_pool} (S=1, softmax, the same fp32 maps and boxes): what a user writes without
 * ReLabel4J. {@code plain_java}: {@link PlainJavaLabelPooling} (one thread). {@code libtorch}:
 * {@link LibTorchLabelPooling} with LibTorch's intra-op threads set to {@code threads}. Excluded (setup): input
 * generation and the input tensors (fp32 scores, int32 ids); the id conversion to int64 that scatter_ needs is
 * timed, as in the released code. Slow (up to seconds per op at B=1024): one op per iteration is enough.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ReferenceBench {

    @State(Scope.Thread)
    public static class PlainJava {
        @Param({"64", "256", "1024"})
        public int batch;

        Inputs.Maps maps;
        PlainJavaLabelPooling reference;
        float[] out;

        @Setup(Level.Trial)
        public void setup() {
            maps = Inputs.maps(batch, Inputs.SEED_MAPS);
            reference = new PlainJavaLabelPooling(Inputs.CLASSES, Inputs.K, Inputs.SIDE, Inputs.SIDE);
            out = new float[batch * Inputs.CLASSES];
        }
    }

    @Benchmark
    public float[] plain_java(PlainJava st) {
        st.reference.apply(st.maps.scores(), st.maps.ids(), st.maps.boxes(), st.batch, st.out);
        return st.out;
    }

    @State(Scope.Thread)
    public static class LibTorch {
        @Param({"64", "256", "1024"})
        public int batch;
        /** LibTorch intra-op threads (torch::set_num_threads). */
        @Param({"1", "2"})
        public int threads;

        Inputs.Maps maps;
        LibTorchLabelPooling reference;
        Tensor scores, ids;

        @Setup(Level.Trial)
        public void setup() {
            Torch.init();  // before any org.bytedeco.pytorch class (Debian's libtorch would crash the JVM)
            torch.set_num_threads(threads);
            maps = Inputs.maps(batch, Inputs.SEED_MAPS);
            scores = Tensors.fromNdArray(maps.scores(DType.FLOAT32));
            ids = Tensors.fromNdArray(maps.ids(DType.INT32));
            reference = new LibTorchLabelPooling(Inputs.CLASSES, Inputs.SIDE, Inputs.SIDE);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            scores.close();
            ids.close();
        }
    }

    @Benchmark
    public float libtorch(LibTorch st) {
        try (PointerScope scope = new PointerScope()) {
            Tensor targets = st.reference.apply(st.scores, st.ids, st.maps.boxes());
            return new FloatPointer(targets.data_ptr()).get(0);
        }
    }

    /** The job's bytes: the same as label_pool fp32 S=1 (the references read fp32 maps and int32 ids). */
    public static double bytesPerOp(int batch) {
        return LabelPoolBench.bytesPerOp("fp32", 1, batch);
    }
}
