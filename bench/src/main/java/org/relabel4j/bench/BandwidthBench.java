package org.relabel4j.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Pointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The memory-bandwidth probe: one thread copies a 256 MiB direct buffer into another with libc memcpy (JavaCPP
 * {@code Pointer.memcpy}), far beyond any cache. Bandwidth = 2 x 256 MiB (read + write) / time; bench/anchors.sh
 * divides each op's bytes by it for the "bound" column. Excluded (setup): allocating and touching both buffers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BandwidthBench {
    public static final int BYTES = 256 << 20;

    @State(Scope.Thread)
    public static class Buffers {
        ByteBuffer src, dst;
        Pointer from, to;

        @Setup(Level.Trial)
        public void setup() {
            src = ByteBuffer.allocateDirect(BYTES);
            dst = ByteBuffer.allocateDirect(BYTES);
            for (int i = 0; i < BYTES; i += 4096) {
                src.put(i, (byte) i);
                dst.put(i, (byte) 1);
            }
            from = new Pointer(src);
            to = new Pointer(dst);
        }
    }

    @Benchmark
    public Pointer copy(Buffers st) {
        return Pointer.memcpy(st.to, st.from, BYTES);
    }

    /** Bytes per op: read + write. */
    public static double bytesPerOp() {
        return 2.0 * BYTES;
    }
}
