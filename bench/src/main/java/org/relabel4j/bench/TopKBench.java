package org.relabel4j.bench;

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
import org.openjdk.jmh.annotations.Warmup;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.TopK;

/**
 * Top-k compression of dense teacher logits {@code [B,C,H,W]} ~ 3 N(0,1) into k=5 maps (fp16 scores, uint16 ids
 * for C=1000, int32 for C=21843), one thread: {@code TopK.of(5).apply(dense)}. Shapes: B=64 ImageNet-1k maps
 * (C=1000, 15x15) and B=16 ImageNet-21k maps (C=21843, 7x7); fp32 or fp16 input. Excluded (setup): generating
 * the logits. Included: the output arrays, which this API allocates per call (0.3 MB and 0.1 MB).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TopKBench {

    @State(Scope.Thread)
    public static class Dense {
        /** B x C x H x W. */
        @Param({"64x1000x15x15", "16x21843x7x7"})
        public String shape;
        @Param({"fp32", "fp16"})
        public String input;

        NdArray dense;
        TopK topk;

        @Setup(Level.Trial)
        public void setup() {
            int[] s = parse(shape);
            if (!input.equals("fp16") && !input.equals("fp32"))
                throw new IllegalArgumentException("input must be fp16 or fp32, got " + input);
            dense = Inputs.dense(s[0], s[1], s[2], input.equals("fp16") ? DType.FLOAT16 : DType.FLOAT32, Inputs.SEED_DENSE);
            topk = TopK.of(5);
        }
    }

    static int[] parse(String shape) {
        String[] p = shape.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    @Benchmark
    public TopK.Result topk_compress(Dense st) {
        return st.topk.apply(st.dense);
    }

    /** Bytes per op: the dense input read once, the fp16 scores and the ids written. */
    public static double bytesPerOp(String shape, String input) {
        int[] s = parse(shape);
        double cells = (double) s[0] * s[2] * s[2];
        return cells * s[1] * (input.equals("fp16") ? 2 : 4) + cells * 5 * (2 + (s[1] <= 65535 ? 2 : 4));
    }
}
