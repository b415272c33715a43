package org.relabel4j.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.bytedeco.javacpp.Loader;

/**
 * Safe LibTorch start-up. With Debian's libtorch installed (python3-torch), JavaCPP can pick up the system
 * libtorch_cpu before extracting its own and the JVM dies; extracting JavaCPP's LibTorch into its cache first
 * avoids that. Call {@link #init()} before touching any {@code org.bytedeco.pytorch} class (every entry point of
 * this library that takes tensors does).
 */
public final class Torch {
    private static volatile boolean initialized;

    private Torch() {}

    /** Extracts and loads JavaCPP's LibTorch once; idempotent and thread-safe. */
    public static void init() {
        if (initialized) return;
        synchronized (Torch.class) {
            if (initialized) return;
            try {
                Loader.cacheResources(org.bytedeco.pytorch.presets.torch.class,
                        "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract LibTorch into the JavaCPP cache", e);
            }
            Loader.load(org.bytedeco.pytorch.global.torch.class);
            // LibTorch asks NNPACK on every CPU convolution it might route there; where NNPACK cannot initialize
            // (common on VMs: "Unsupported hardware") each such call logs a warning to stderr, several per forward
            // of a ResNet, hundreds in an annotation run. On x86, oneDNN (mkldnn) serves these convolutions anyway.
            org.bytedeco.pytorch.global.torch.globalContext().setUserEnabledNNPACK(false);
            onednnIsa = capOneDnnWithoutCacheInfo();
            initialized = true;
        }
    }

    private static volatile String onednnIsa;

    /**
     * The instruction-set cap this process set for oneDNN ({@code ONEDNN_MAX_CPU_ISA}), or null when none was set.
     * On CPUs that hide their cache topology (virtual machines such as Firecracker's: Linux shows no
     * {@code /sys/devices/system/cpu/cpu0/cache}), oneDNN's AVX-512/AVX2 brgemm convolution backward divides by the
     * cache size it reads as 0 and the process dies of SIGFPE (seen with LibTorch 2.10 training ResNet-50's 1x1
     * convolutions). There the cap is set to SSE4.1, whose kernels do not use those heuristics, before oneDNN first
     * runs. A user's own {@code ONEDNN_MAX_CPU_ISA} always wins; {@code -Drelabel.onednn.isa=...} sets another cap
     * ({@code default}: none).
     */
    public static String oneDnnIsaCap() {
        init();
        return onednnIsa;
    }

    private static String capOneDnnWithoutCacheInfo() {
        if (System.getenv("ONEDNN_MAX_CPU_ISA") != null || System.getenv("DNNL_MAX_CPU_ISA") != null) return null;
        String isa = System.getProperty("relabel.onednn.isa");
        if (isa == null) {
            String arch = System.getProperty("os.arch", "");
            boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
            boolean linux = System.getProperty("os.name", "").startsWith("Linux");
            if (!x86 || !linux || java.nio.file.Files.isDirectory(java.nio.file.Path.of("/sys/devices/system/cpu/cpu0/cache")))
                return null;
            isa = "SSE41";
        }
        if (isa.equalsIgnoreCase("default")) return null;
        org.bytedeco.pytorch.global.torch.set_env("ONEDNN_MAX_CPU_ISA", isa, false);
        return isa;
    }

    /** The JavaCPP pytorch artifact version, e.g. "2.10.0-1.5.13". */
    public static String presetVersion() {
        try {
            String v = Loader.getVersion("org.bytedeco", "pytorch");
            return v != null ? v : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** True when LibTorch was built with CUDA (the -gpu natives) and sees a device. */
    public static boolean cudaAvailable() {
        init();
        try {
            return org.bytedeco.pytorch.global.torch_cuda.is_available();
        } catch (Throwable e) {  // CPU-only natives: the CUDA entry points are absent
            return false;
        }
    }

    /** LibTorch's intra-op thread count. */
    public static int threads() {
        init();
        return org.bytedeco.pytorch.global.torch.get_num_threads();
    }

    /**
     * LibTorch's part of {@code relabel doctor}'s report ({@link org.relabel4j.Relabel4j#info()} has the rest): the
     * JavaCPP pytorch version and whether CUDA is available, intra-op threads, the oneDNN ISA cap. Calls
     * {@link #init()}. Unmodifiable, in order.
     */
    public static java.util.Map<String, Object> info() {
        init();
        java.util.Map<String, Object> r = new java.util.LinkedHashMap<>();
        r.put("libtorch", "JavaCPP pytorch " + presetVersion() + (cudaAvailable() ? ", CUDA available"
                : ", CPU (CUDA tensors need LibTorch's linux-x86_64-gpu build, relabel4j-torch-gpu or -Pgpu, and a GPU)"));
        r.put("libtorch threads", threads());
        String isa = oneDnnIsaCap();
        r.put("onednn isa cap", isa == null ? "none" : isa + " (the CPU hides its cache topology: oneDNN's brgemm "
                + "convolution backward would crash; see Torch.oneDnnIsaCap)");
        return java.util.Collections.unmodifiableMap(r);
    }
}
