package org.relabel4j.bench;

import java.util.ArrayList;
import java.util.List;
import org.relabel4j.cuda.Cuda;

/**
 * labelpool-bench's entry point: JMH's own command line ({@code org.openjdk.jmh.Main}: -f, -wi, -i, -t, -rf json,
 * -p, regexps ...), with the {@link CudaBench} benchmarks excluded when the native core sees no CUDA device.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        List<String> jmh = new ArrayList<>(List.of(args));
        String reason = cudaUnavailable();
        if (reason != null) {
            System.err.println("labelpool-bench: CudaBench excluded (" + reason + ")");
            jmh.add("-e");
            jmh.add("CudaBench");
        }
        org.openjdk.jmh.Main.main(jmh.toArray(new String[0]));
    }

    private static String cudaUnavailable() {
        try {
            if (Cuda.deviceCount() > 0) return null;
            String r = Cuda.unavailableReason();
            return r != null ? r : "no CUDA device";
        } catch (Throwable e) {  // natives missing: say so, the CPU benchmarks will report it themselves
            return "cannot query CUDA: " + e;
        }
    }
}
