package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.cli.RelabelCli;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;

/**
 * A label-map store truncated by another program ({@code truncate -s 4096}) while {@code relabel train} reads it in
 * a child JVM: the run must end with exit 2 and a message naming the store and its checkpoint (not SIGBUS, exit 134
 * and an hs_err file, as before the file was checked against its mapping), and the saved checkpoint must resume
 * once the store is restored.
 */
class StoreTruncationTest {
    @TempDir
    Path tmp;

    /** A store of every training image of {@link TrainData}: k = 2, 4x4 cells, the label on top. */
    static void store(Path data, Path out) throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + data.resolve("train"));
        MapFormat f = new MapFormat(3, 2, 4, 4, DType.FLOAT16, DType.UINT16);
        float[] scores = new float[32];
        for (int e = 0; e < 32; ++e) scores[e] = e < 16 ? 3f : 1f;
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            for (int i = 0; i < ds.size(); ++i) {
                int[] ids = new int[32];
                for (int e = 0; e < 32; ++e) ids[e] = (ds.sample(i).label() + (e < 16 ? 0 : 1)) % 3;
                w.append(ds.sample(i).key(), scores.clone(), ids);
            }
            w.finish();
        }
    }

    @Test
    void truncatedUnderATrainingRunEndsItCleanlyWithItsCheckpoint() throws Exception {
        Path data = tmp.resolve("data"), live = tmp.resolve("live.rlm"), run = tmp.resolve("r");
        TrainData.write(data);
        store(data, live);
        long size = Files.size(live);
        assertTrue(size > 4096 + 96 * 128, "records past the header: " + size);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), RelabelCli.class.getName(), "train", "--preset", "tiny",
                "--train", "imagefolder:" + data.resolve("train"), "--val", "", "--labelmaps", live.toString(),
                "--epochs", "3000", "--batch-size", "3", "--workers", "1", "--out", run.toString(), "--set",
                "model.width=8", "--set", "data.image_size=24", "--set", "util.print_freq=1", "--set",
                "compute.threads=1"));
        Path log = tmp.resolve("child.log");
        // The child's working directory is tmp: a JVM crash would leave its hs_err_pid*.log there.
        Process child = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        int code;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (steps(run.resolve("metrics.jsonl")) < 5) {  // training, reading the store batch by batch
                if (!child.isAlive()) fail("the run ended (" + child.exitValue() + ") before the store was cut: "
                        + Files.readString(log));
                if (System.nanoTime() > deadline) fail("no training step after 120 s: " + Files.readString(log));
                Thread.sleep(20);
            }
            try (FileChannel ch = FileChannel.open(live, StandardOpenOption.WRITE)) {
                ch.truncate(4096);  // what `truncate -s 4096 live.rlm` does: the records' pages are gone
            }
            if (!child.waitFor(120, TimeUnit.SECONDS)) fail("the run went on after its store was cut: " + Files.readString(log));
            code = child.exitValue();
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        String output = Files.readString(log);
        try (Stream<Path> files = Files.list(tmp)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith("hs_err")), "the JVM crashed: " + output);
        }
        assertEquals(RelabelCli.EXIT_BAD_INPUT, code, output);
        assertTrue(output.contains("relabel train: error: " + live + ": was truncated from " + size + " to 4096 bytes"),
                output);
        Matcher m = Pattern.compile("the run stopped at epoch (\\d+), batch (\\d+), step (\\d+) with its checkpoint saved to "
                + Pattern.quote(run.resolve("checkpoint.rlc").toString())).matcher(output);
        assertTrue(m.find(), output);
        JsonNode state = Checkpoint.readState(run.resolve("checkpoint.rlc"));
        assertEquals(Integer.parseInt(m.group(1)) - 1, state.get("epoch").asInt());
        assertEquals(Integer.parseInt(m.group(2)), state.get("batch").asInt());
        long step = Long.parseLong(m.group(3));
        assertEquals(step, state.get("step").asLong());
        assertTrue(step >= 5, "steps before the cut: " + step);
        System.out.println("truncated under the run: " + output.lines().filter(l -> l.contains("error")).findFirst()
                .orElse(""));

        // Restored (a new file renamed into place, as every writer of this library does), the run continues.
        store(data, live);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int resumed = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), "train", "--resume", run.toString(),
                "--max-steps", String.valueOf(step + 2));
        assertEquals(0, resumed, out + "" + err);
        assertTrue(out.toString().contains("step " + step) && out.toString().contains((step + 2) + " steps"), out.toString());
    }

    /** Step records in a metrics log so far. */
    private static long steps(Path metrics) throws IOException {
        if (!Files.exists(metrics)) return 0;
        try (Stream<String> lines = Files.lines(metrics)) {
            return lines.filter(l -> l.contains("\"kind\":\"step\"") && l.endsWith("}")).count();
        }
    }
}
