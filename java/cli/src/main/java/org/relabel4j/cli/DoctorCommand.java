package org.relabel4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import org.relabel4j.cuda.Cuda;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.torch.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel doctor}: what this installation can do, and where its pieces come from. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Native library path and version, CUDA (built / available / GPUs), LibTorch version, threads.")
final class DoctorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> r = report();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
        } else {
            r.forEach((key, value) -> out.printf("%-22s %s%n", key + ":", value));
        }
        return 0;
    }

    static Map<String, Object> report() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("relabel4j", new RelabelCli.Version().getVersion()[0].replace("relabel4j ", ""));
        Loader.load(RelabelNative.class);
        r.put("native library", Loader.getLoadedLibraries().getOrDefault("relabel", "?"));
        r.put("native version", RelabelNative.relabel_version().getString() + " (ABI " + RelabelNative.relabel_abi_version() + ")");
        r.put("platform", Loader.getPlatform());
        r.put("native build", RelabelNative.relabel_build_info().getString());
        r.put("cuda kernels", Cuda.built() ? "built" : "not built");
        int devices = Cuda.deviceCount();
        r.put("cuda devices", devices);
        if (devices == 0) {
            r.put("cuda", "unavailable: " + Cuda.unavailableReason());
        } else {
            for (int d = 0; d < devices; ++d) r.put("gpu " + d, Cuda.deviceName(d));
        }
        Torch.init();
        r.put("libtorch", "JavaCPP pytorch " + Torch.presetVersion() + (Torch.cudaAvailable() ? ", CUDA available"
                : ", CPU (CUDA tensors need the -Pgpu build and a GPU)"));
        r.put("libtorch threads", Torch.threads());
        String isa = Torch.oneDnnIsaCap();
        r.put("onednn isa cap", isa == null ? "none" : isa + " (the CPU hides its cache topology: oneDNN's brgemm "
                + "convolution backward would crash; see Torch.oneDnnIsaCap)");
        r.put("cpu threads", Runtime.getRuntime().availableProcessors());
        r.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
        return r;
    }
}
