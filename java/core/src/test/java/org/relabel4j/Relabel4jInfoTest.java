package org.relabel4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;
import org.relabel4j.cuda.Cuda;

/** {@link Relabel4j#info()}: the library part of {@code relabel doctor}, as public API. */
class Relabel4jInfoTest {
    @Test
    void infoReportsTheNativeLibraryItLoaded() {
        Map<String, Object> info = Relabel4j.info();
        assertEquals(List.of("relabel4j", "native library", "native version", "platform", "native build", "cuda kernels",
                "cuda architectures", "cuda devices"), List.copyOf(info.keySet()).subList(0, 8));
        assertTrue(info.containsKey("cpu threads") && info.containsKey("java"), info.toString());
        assertEquals(Loader.getPlatform(), info.get("platform"));
        assertTrue(info.get("native library").toString().endsWith("librelabel.so"), info.toString());
        assertTrue(info.get("native version").toString().matches("\\d+\\.\\d+\\.\\d+ \\(ABI \\d+\\)"), info.toString());
        assertEquals(Cuda.built() ? "built" : "not built", info.get("cuda kernels"));
        assertEquals(Cuda.deviceCount(), info.get("cuda devices"));
        // the architectures the jar says it carries agree with what the library says it was built with
        String archs = Relabel4j.nativeBuild().getProperty("cuda.architectures", "");
        assertEquals(Cuda.built(), !archs.isEmpty(), "relabel-build.properties: " + Relabel4j.nativeBuild());
        assertEquals(archs.isEmpty() ? "none" : archs, info.get("cuda architectures"));
        assertThrows(UnsupportedOperationException.class, () -> info.put("x", 1));
    }
}
