package org.relabel4j.bench;

/**
 * Prints, one JSON line per benchmark configuration, the bytes each op must move at least (see the benchmark
 * classes), for bench/anchors.sh's bound column: bound = bytes / the bandwidth probe's bytes per second. Computed
 * from the same generated inputs as the benchmarks. Ops with no meaningful byte count (key lookup) are absent.
 */
public final class BytesPerOp {
    private BytesPerOp() {}

    private static final String PKG = "org.relabel4j.bench.";

    public static void main(String[] args) {
        String[] batches = {"64", "256", "1024"};
        for (String scores : new String[] {"fp16", "fp32"})
            for (String s : new String[] {"1", "7"})
                for (String b : batches)
                    for (String t : new String[] {"1", "2"})
                        print("LabelPoolBench.label_pool", LabelPoolBench.bytesPerOp(scores, Integer.parseInt(s),
                                Integer.parseInt(b)), "scores", scores, "S", s, "batch", b, "threads", t);
        for (String b : batches) {
            int batch = Integer.parseInt(b);
            print("LabelPoolBench.label_pool_abi", LabelPoolBench.bytesPerOp("fp16", 1, batch), "batch", b);
            print("ReferenceBench.plain_java", ReferenceBench.bytesPerOp(batch), "batch", b);
            for (String t : new String[] {"1", "2"}) {
                print("ReferenceBench.libtorch", ReferenceBench.bytesPerOp(batch), "batch", b, "threads", t);
                print("StoreBench.label_pool_gather", StoreBench.poolBytesPerOp(batch), "batch", b, "threads", t);
                print("StoreBench.label_pool_gather_reuse", StoreBench.poolBytesPerOp(batch), "batch", b, "threads", t);
            }
            for (String s : new String[] {"1", "7"})
                print("CudaBench.label_pool", LabelPoolBench.bytesPerOp("fp16", Integer.parseInt(s), batch), "S", s,
                        "batch", b);
            print("CudaBench.label_pool_gather", StoreBench.poolBytesPerOp(batch), "batch", b);
            print("CudaBench.label_pool_gather_api", StoreBench.poolBytesPerOp(batch), "batch", b);
        }
        print("StoreBench.gather", StoreBench.gatherBytesPerOp());
        for (String input : new String[] {"fp32", "fp16"}) {
            for (String shape : new String[] {"64x1000x15x15", "16x21843x7x7"})
                print("TopKBench.topk_compress", TopKBench.bytesPerOp(shape, input), "shape", shape, "input", input);
            for (String shape : new String[] {"256x1000x15x15", "64x21843x7x7"})
                print("CudaBench.topk_compress", TopKBench.bytesPerOp(shape, input), "shape", shape, "input", input);
        }
        print("BandwidthBench.copy", BandwidthBench.bytesPerOp());
        print("CudaBench.copy", BandwidthBench.bytesPerOp());
    }

    private static void print(String benchmark, double bytes, String... params) {
        StringBuilder sb = new StringBuilder("{\"benchmark\": \"").append(PKG).append(benchmark).append("\", \"params\": {");
        for (int i = 0; i < params.length; i += 2)
            sb.append(i > 0 ? ", " : "").append('"').append(params[i]).append("\": \"").append(params[i + 1]).append('"');
        sb.append("}, \"bytes\": ").append(Math.round(bytes)).append('}');
        System.out.println(sb);
    }
}
