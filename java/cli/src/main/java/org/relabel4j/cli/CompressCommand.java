package org.relabel4j.cli;

import org.relabel4j.torch.Devices;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.ops.TopK;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel compress}: dense teacher logits (.npy) to top-k label maps (.npy). */
@Command(name = "compress", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Top-k compression of dense teacher logits [B,C,H,W] (float32/float16 .npy) into label maps:",
                "scores [B,k,H,W] (descending, like torch.topk) and class ids [B,k,H,W]."})
final class CompressCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--dense", required = true, paramLabel = "D.npy", description = "dense logits [B,C,H,W]")
    Path dense;

    @Option(names = "--k", defaultValue = "5", description = "entries kept per location (default: ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--score-dtype", defaultValue = "fp16", paramLabel = "fp16|fp32",
            description = "score type of the maps (default: ${DEFAULT-VALUE})")
    String scoreDtype;

    @Option(names = "--index-dtype", defaultValue = "auto", paramLabel = "auto|uint16|int32",
            description = "class id type; auto: uint16 when C <= 65535, else int32")
    String indexDtype;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out-scores", required = true, paramLabel = "S.npy", description = "output scores")
    Path outScores;

    @Option(names = "--out-indices", required = true, paramLabel = "I.npy", description = "output class ids")
    Path outIndices;

    @Override
    public Integer call() throws IOException {
        FileArgs.of().in("--dense", dense).out("--out-scores", outScores).out("--out-indices", outIndices).check();
        int dev = compute.device();
        DType scoreType = switch (scoreDtype.toLowerCase(Locale.ROOT)) {
            case "fp16", "float16" -> DType.FLOAT16;
            case "fp32", "float32" -> DType.FLOAT32;
            default -> throw new IllegalArgumentException("--score-dtype must be fp16 or fp32, got '" + scoreDtype + "'");
        };
        DType indexType = switch (indexDtype.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "uint16" -> DType.UINT16;
            case "int32" -> DType.INT32;
            default -> throw new IllegalArgumentException("--index-dtype must be auto, uint16 or int32, got '"
                    + indexDtype + "'");
        };
        TopK topk = TopK.of(k, scoreType, indexType, compute.threads());
        NdArray d = Npy.read(dense);
        Loader.load(RelabelNative.class);  // not part of the timing below
        long t0 = System.nanoTime();
        TopK.Result r;
        try {
            r = dev < 0 ? topk.apply(d) : topk.applyOnCuda(dev, d);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dense.getFileName() + ": " + e.getMessage(), e);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        Npy.write(outScores, r.scores());
        Npy.write(outIndices, r.indices());
        spec.commandLine().getOut().printf(Locale.ROOT, "top-%d of %s -> %s %s, %s %s (%s) in %.2f ms%n", k, d,
                outScores, r.scores(), outIndices, r.indices(), Devices.name(dev), ms);
        return 0;
    }
}
