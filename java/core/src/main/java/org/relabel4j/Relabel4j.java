package org.relabel4j;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.bytedeco.javacpp.Loader;
import org.relabel4j.cuda.Cuda;
import org.relabel4j.jni.RelabelNative;

/**
 * What this installation of ReLabel4J can do and where its pieces come from: the report {@code relabel doctor}
 * prints (its LibTorch lines come from {@code org.relabel4j.torch.Torch.info()} in relabel4j-torch). Loads the
 * native library (an {@link UnsatisfiedLinkError} names what is missing). Stateless and thread-safe.
 */
public final class Relabel4j {
    private Relabel4j() {}

    /** The version of relabel4j-core on the classpath (its jar's manifest), or 0.1.0-SNAPSHOT from classes. */
    public static String version() {
        String v = Relabel4j.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    /**
     * What the native build carries (relabel-build.properties, written by CMake into the jar beside the natives):
     * {@code cuda} ON/OFF and {@code cuda.architectures} (e.g. {@code 80-real,90-real,90-virtual}); empty when the
     * file is absent (a library built outside Maven).
     */
    public static Properties nativeBuild() {
        Properties p = new Properties();
        String name = "/org/relabel4j/jni/" + Loader.getPlatform() + "/relabel-build.properties";
        try (InputStream in = Relabel4j.class.getResourceAsStream(name)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("reading " + name, e);
        }
        return p;
    }

    /**
     * The report, in order, as label -> value (strings and numbers; JSON-friendly): relabel4j version, native
     * library path, native version and ABI, platform, native build (compiler, CUDA), the CUDA architectures compiled
     * in, CUDA devices (each GPU's name, or why CUDA is unavailable), CPU threads, Java. Unmodifiable.
     */
    public static Map<String, Object> info() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("relabel4j", version());
        Loader.load(RelabelNative.class);
        r.put("native library", Loader.getLoadedLibraries().getOrDefault("relabel", "?"));
        r.put("native version", RelabelNative.relabel_version().getString() + " (ABI "
                + RelabelNative.relabel_abi_version() + ")");
        r.put("platform", Loader.getPlatform());
        r.put("native build", RelabelNative.relabel_build_info().getString());
        r.put("cuda kernels", Cuda.built() ? "built" : "not built");
        String archs = nativeBuild().getProperty("cuda.architectures", "");
        r.put("cuda architectures", archs.isEmpty() ? "none" : archs);
        int devices = Cuda.deviceCount();
        r.put("cuda devices", devices);
        if (devices == 0) {
            r.put("cuda", "unavailable: " + Cuda.unavailableReason());
        } else {
            for (int d = 0; d < devices; ++d) r.put("gpu " + d, Cuda.deviceName(d));
        }
        r.put("cpu threads", Runtime.getRuntime().availableProcessors());
        r.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
        return Collections.unmodifiableMap(r);
    }
}
