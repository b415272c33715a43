package org.relabel4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages depend on each other one way: cli -> djl -> demo -> annotate -> train -> eval -> model -> torch ->
 * data -> store -> ops -> native (jni and cuda, one layer); io, nd and torchsave are utilities every layer may use
 * (and that use only each other). A reference against that direction (an import, or a qualified name in code) fails
 * here, naming the file. The layers are cut into the Maven modules (java/core, java/data, java/torch, java/cli,
 * java/djl) at fixed places, so that relabel4j-core never needs LibTorch or OpenCV: every package must live in its
 * module ({@link #MODULE}).
 */
class LayersTest {
    static final List<Set<String>> ORDER = List.of(Set.of("cli"), Set.of("djl"), Set.of("demo"), Set.of("annotate"),
            Set.of("train"), Set.of("eval"), Set.of("model"), Set.of("torch"), Set.of("data"), Set.of("store"),
            Set.of("ops"),
            Set.of("jni", "cuda"));
    static final Set<String> UTILITIES = Set.of("io", "nd", "torchsave");
    /** The module (folder under java/) of every top-level package. */
    static final Map<String, String> MODULE = Map.ofEntries(Map.entry("cli", "cli"), Map.entry("demo", "cli"),
            Map.entry("annotate", "torch"), Map.entry("train", "torch"), Map.entry("eval", "torch"),
            Map.entry("model", "torch"), Map.entry("torch", "torch"), Map.entry("data", "data"),
            Map.entry("store", "core"), Map.entry("ops", "core"), Map.entry("jni", "core"), Map.entry("cuda", "core"),
            Map.entry("io", "core"), Map.entry("nd", "core"), Map.entry("torchsave", "core"), Map.entry("djl", "djl"));
    /**
     * References against the direction that are known and left for their owners, each with its reason. demo's
     * report draws its figures through the {@code relabel show} command instead of an annotate API.
     */
    static final Set<String> KNOWN = Set.of("demo/DemoReport.java -> cli");
    static final Pattern REFERENCE = Pattern.compile("\\borg\\.relabel4j\\.([a-z]+)\\.");

    /** java/ (the tests run in java/cli, or from the repository root). */
    static Path modules() {
        Path p = Path.of("..");
        return Files.isDirectory(p.resolve("core/src/main/java")) ? p : Path.of("java");
    }

    /** The source root of every module, by module name. */
    static Map<String, Path> sourceRoots() throws IOException {
        Map<String, Path> roots = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.list(modules())) {
            s.filter(d -> Files.isDirectory(d.resolve("src/main/java/org/relabel4j")))
                    .forEach(d -> roots.put(d.getFileName().toString(), d.resolve("src/main/java/org/relabel4j")));
        }
        return roots;
    }

    @Test
    void everyPackageLivesInItsModule() throws IOException {
        Map<String, Path> roots = sourceRoots();
        assertTrue(roots.keySet().containsAll(Set.of("core", "data", "torch", "cli", "djl")),
                "modules found: " + roots.keySet());
        List<String> misplaced = new ArrayList<>();
        for (Map.Entry<String, Path> r : roots.entrySet()) {
            try (Stream<Path> s = Files.list(r.getValue())) {
                for (Path d : s.filter(Files::isDirectory).toList()) {
                    String pkg = d.getFileName().toString();
                    if (!r.getKey().equals(MODULE.get(pkg)))
                        misplaced.add(pkg + " in java/" + r.getKey() + " (belongs in java/" + MODULE.get(pkg) + ")");
                }
            }
        }
        assertEquals(List.of(), misplaced);
    }

    @Test
    void dependenciesPointDownTheLayers() throws IOException {
        Map<String, Path> roots = sourceRoots();
        Set<String> packages = new TreeSet<>();
        for (Path root : roots.values()) {
            try (Stream<Path> s = Files.list(root)) {
                s.filter(Files::isDirectory).forEach(d -> packages.add(d.getFileName().toString()));
            }
        }
        Set<String> unplaced = new TreeSet<>(packages);
        ORDER.forEach(unplaced::removeAll);
        UTILITIES.forEach(unplaced::remove);
        assertEquals(Set.of(), unplaced, "every top-level package has a place in the layers");

        List<String> violations = new ArrayList<>();
        Set<String> known = new TreeSet<>();
        List<Path[]> files = new ArrayList<>();
        for (Path root : roots.values()) {
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(f -> f.toString().endsWith(".java")).sorted().forEach(f -> files.add(new Path[] {root, f}));
            }
        }
        for (Path[] rf : files) {
            Path f = rf[1];
            Path rel = rf[0].relativize(f);
            if (rel.getNameCount() < 2) continue;  // the root package (RelabelException) is below everything
            String from = rel.getName(0).toString();
            Matcher m = REFERENCE.matcher(code(Files.readString(f)));
            Set<String> seen = new TreeSet<>();
            while (m.find()) seen.add(m.group(1));
            for (String to : seen) {
                if (allowed(from, to)) continue;
                String edge = rel.toString().replace('\\', '/') + " -> " + to;
                if (KNOWN.contains(edge)) known.add(edge);
                else violations.add(edge);
            }
        }
        assertEquals(List.of(), violations, "references up the layers " + ORDER + " (utilities " + UTILITIES + ")");
        assertEquals(KNOWN, known, "a known exception that no longer occurs: remove it from KNOWN");
    }

    static boolean allowed(String from, String to) {
        if (from.equals(to)) return true;
        if (UTILITIES.contains(to)) return true;
        if (UTILITIES.contains(from)) return false;
        int a = layer(from), b = layer(to);
        return b >= 0 && a <= b;
    }

    static int layer(String pkg) {
        for (int i = 0; i < ORDER.size(); ++i) if (ORDER.get(i).contains(pkg)) return i;
        return -1;
    }

    /** The source without comments and string literals (a javadoc may name any package). */
    static String code(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0, n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i < n && src.charAt(i) != '\n') ++i;
            } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (c == '"' || c == '\'') {
                boolean block = c == '"' && src.startsWith("\"\"\"", i);
                String close = block ? "\"\"\"" : String.valueOf(c);
                i += close.length();
                while (i < n && !src.startsWith(close, i)) i += src.charAt(i) == '\\' ? 2 : 1;
                i += close.length();
                out.append("\"\"");
            } else {
                out.append(c);
                ++i;
            }
        }
        return out.toString();
    }

    @Test
    void theScannerSeesImportsAndQualifiedNamesButNotComments() {
        String src = "import org.relabel4j.cli.X;\n// org.relabel4j.demo.Y\n/** {@link org.relabel4j.annotate.Z} */\n"
                + "class A { Object o = new org.relabel4j.train.W(); String s = \"org.relabel4j.eval.V.\"; }";
        Matcher m = REFERENCE.matcher(code(src));
        Set<String> seen = new TreeSet<>();
        while (m.find()) seen.add(m.group(1));
        assertEquals(Set.of("cli", "train"), seen);
        assertTrue(allowed("train", "eval") && !allowed("eval", "train") && allowed("eval", "model")
                && !allowed("model", "eval") && !allowed("data", "torch") && allowed("torch", "data")
                && !allowed("demo", "cli") && allowed("cli", "demo") && !allowed("train", "unknown") && allowed("jni", "cuda")
                && allowed("cuda", "jni") && !allowed("data", "model"), Map.of().toString());
    }
}
