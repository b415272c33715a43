package org.relabel4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;

/**
 * The golden fixtures of ../shared/fixtures (system property relabel.fixtures, set by the build). Tests that need
 * them skip, with a visible message, when they are absent (and fail in CI: {@link Required}). They are read-only: tests write to temp folders.
 */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        String p = System.getProperty("relabel.fixtures");
        return Path.of(p != null ? p : "../../../shared/fixtures").toAbsolutePath().normalize();
    }

    /** Skips the calling test, saying why, when the fixtures are not there; fails it under {@link Required}. */
    public static void assumePresent() {
        boolean present = Files.isDirectory(root().resolve("labelpool")) && Files.isDirectory(root().resolve("topk"));
        Required.present(present, "golden fixtures not found at " + root());
    }

    /** The case folders of a fixture group ("labelpool", "topk"), sorted. */
    public static List<Path> cases(String group) {
        Path dir = root().resolve(group);
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static NdArray load(Path caseDir, String file) {
        try {
            return Npy.read(caseDir.resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
