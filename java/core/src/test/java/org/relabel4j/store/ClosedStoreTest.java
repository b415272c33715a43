package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.MapRecords;

/**
 * A closed {@link LabelMapStore} and the {@link MapRecords} view it handed out: every method throws an
 * IllegalStateException naming the store, none reads the unmapped file (before, {@code find}, {@code key},
 * {@code map} and a gather from the records read unmapped memory: SIGSEGV). The same misuse also runs in a child JVM,
 * which must exit normally.
 */
class ClosedStoreTest {
    @TempDir Path tmp;

    static final MapFormat FORMAT = new MapFormat(100, 3, 6, 6, DType.FLOAT16, DType.UINT16);

    /** Every public method of a closed store and of its records view, by name. */
    static Map<String, Executable> misuse(LabelMapStore s, MapRecords r) {
        LabelPooling pooling = LabelPooling.builder(FORMAT.classes()).build();
        NdArray boxes = NdArray.of(new float[] {0, 0, 1, 1}, 1, 4), indices = NdArray.of(new long[] {0}, 1);
        Map<String, Executable> m = new LinkedHashMap<>();
        m.put("find", () -> s.find("k0"));
        m.put("require", () -> s.require("k0"));
        m.put("key", () -> s.key(0));
        m.put("map", () -> s.map(0));
        m.put("format", s::format);
        m.put("size", s::size);
        m.put("recordSize", s::recordSize);
        m.put("fileSize", s::fileSize);
        m.put("metadataJson", s::metadataJson);
        m.put("checkUnchanged", s::checkUnchanged);
        m.put("checkUnchangedUnchecked", s::checkUnchangedUnchecked);
        m.put("gather", () -> s.gather(new long[] {0}, NdArray.zeros(DType.UINT8, 1, s.recordSize())));
        m.put("records", s::records);
        m.put("uploadToCuda", () -> s.uploadToCuda(0));
        m.put("verify", () -> s.verify(null));
        m.put("residency", s::residency);
        m.put("residencyDescription", s::residencyDescription);
        m.put("prefetch", () -> s.prefetch(new long[] {0}));
        m.put("records.format", r::format);
        m.put("records.count", r::count);
        m.put("records.device", r::device);
        m.put("records.base", r::base);
        m.put("records.checkUnchanged", r::checkUnchanged);
        m.put("pooling.gather(records)", () -> pooling.gather(r, indices, boxes, null));
        return m;
    }

    static Path writeStore(Path dir) throws IOException {
        Path out = dir.resolve("maps.rlm");
        LabelMapStoreTest.write(out, FORMAT, 8, 1);
        return out;
    }

    @Test
    void everyMethodOfAClosedStoreAndItsRecordsThrowsNamingTheStore() throws IOException {
        Path path = writeStore(tmp);
        LabelMapStore s = LabelMapStore.open(path);
        MapRecords r = s.records();
        assertTrue(s.find(s.key(0)) == 0 && r.count() == 8, "open: it works");
        s.close();
        s.close();  // idempotent
        assertEquals(path, s.path());
        for (Map.Entry<String, Executable> e : misuse(s, r).entrySet()) {
            IllegalStateException x = assertThrows(IllegalStateException.class, e.getValue(), e.getKey());
            assertTrue(x.getMessage().contains(path.toString()) && x.getMessage().contains("closed"),
                    e.getKey() + ": " + x.getMessage());
        }
    }

    /** Run by {@link #misuseInAChildJvmExitsNormally}: every misuse must throw IllegalStateException; exit 0 if so. */
    public static void main(String[] args) throws Exception {
        LabelMapStore s = LabelMapStore.open(Path.of(args[0]));
        MapRecords r = s.records();
        s.close();
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Executable> e : misuse(s, r).entrySet()) {
            try {
                e.getValue().execute();
                wrong.add(e.getKey() + " returned");
            } catch (IllegalStateException expected) {
                // the contract
            } catch (Throwable t) {
                wrong.add(e.getKey() + " threw " + t);
            }
        }
        System.out.println(wrong.isEmpty() ? "all misuse threw IllegalStateException" : "wrong: " + wrong);
        System.exit(wrong.isEmpty() ? 0 : 1);
    }

    @Test
    void misuseInAChildJvmExitsNormally() throws Exception {
        Path path = writeStore(tmp);
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), ClosedStoreTest.class.getName(), path.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM finished");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), "child JVM exit status (134/139 = crashed):\n" + out);
        assertTrue(out.contains("all misuse threw IllegalStateException"), out);
    }
}
