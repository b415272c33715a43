package org.relabel4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documented contract (docs/api.md): every public type, constructor, method and field of the supported API
 * packages has a Javadoc comment (the check javadoc's doclint "missing" group makes for comments; members that
 * {@code @Override} inherit theirs). A new undocumented public member fails here, naming it.
 */
class ApiDocsTest {
    /** The supported API packages (docs/api.md), by module. */
    static final Map<String, List<String>> API = Map.of(
            "core", List.of("", "nd", "ops", "store"),
            "data", List.of("data", "data/loader", "data/transform"),
            "torch", List.of("torch"),
            "djl", List.of("djl"));
    static final Pattern PUBLIC = Pattern.compile("^\\s*public\\s.*");

    static List<String> undocumented(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<String> missing = new ArrayList<>();
        boolean inBlock = false;
        for (int i = 0; i < lines.size(); ++i) {
            String l = lines.get(i);
            String t = l.trim();
            if (inBlock) {
                if (t.contains("*/")) inBlock = false;
                continue;
            }
            if (t.startsWith("/*") && !t.contains("*/")) {
                inBlock = true;
                continue;
            }
            if (!PUBLIC.matcher(l).matches()) continue;
            int j = i - 1;
            boolean override = false;
            while (j >= 0 && (lines.get(j).trim().startsWith("@") || lines.get(j).trim().isEmpty())) {
                override |= lines.get(j).trim().startsWith("@Override");
                --j;
            }
            if (override) continue;
            boolean documented = false;
            if (j >= 0 && lines.get(j).trim().endsWith("*/")) {
                int k = j;
                while (k >= 0 && !lines.get(k).trim().startsWith("/*")) --k;
                documented = k >= 0 && lines.get(k).trim().startsWith("/**");
            }
            if (!documented) missing.add(file.getFileName() + ":" + (i + 1) + ": " + t);
        }
        return missing;
    }

    @Test
    void everyPublicMemberOfTheApiPackagesHasJavadoc() throws IOException {
        List<String> missing = new ArrayList<>();
        int files = 0;
        for (Map.Entry<String, List<String>> m : API.entrySet()) {
            for (String pkg : m.getValue()) {
                Path dir = LayersTest.modules().resolve(m.getKey()).resolve("src/main/java/org/relabel4j").resolve(pkg);
                assertTrue(Files.isDirectory(dir), dir.toString());
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                        ++files;
                        missing.addAll(undocumented(f).stream().map(x -> m.getKey() + "/" + pkg + "/" + x).toList());
                    }
                }
            }
        }
        assertTrue(files > 40, files + " files");
        assertEquals(List.of(), missing, missing.size() + " public members without Javadoc");
    }

    @Test
    void theCheckerSeesAMissingComment() throws IOException {
        Path f = Files.createTempFile("Api", ".java");
        try {
            Files.writeString(f, "/** A. */\npublic class A {\n    /** x. */\n    public int x() { return 1; }\n"
                    + "    @Override\n    public String toString() { return \"\"; }\n    public int y() { return 2; }\n"
                    + "    /* not javadoc */\n    public int z() { return 3; }\n}\n");
            assertEquals(List.of(f.getFileName() + ":7: public int y() { return 2; }",
                    f.getFileName() + ":9: public int z() { return 3; }"), undocumented(f));
        } finally {
            Files.delete(f);
        }
    }
}
