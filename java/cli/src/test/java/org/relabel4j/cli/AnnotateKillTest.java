package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.annotate.AnnotateTesting;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.Models;
import org.relabel4j.model.ModuleClassifier;
import org.relabel4j.model.StateDicts;

/**
 * A real kill: `relabel annotate` in a child JVM is killed (SIGKILL) once three batches are on file, then run
 * again with the same arguments; the finished store holds every sample exactly once, equal to a direct dense
 * forward + top-k of the teacher.
 */
class AnnotateKillTest {
    static final int IMAGES = 120, SIZE = 64;

    @TempDir
    Path tmp;

    @Test
    void killedThenRestartedLosesAndRepeatsNothing() throws Exception {
        Torch.init();
        Path images = tmp.resolve("images"), checkpoint = tmp.resolve("resnet18.pth"), out = tmp.resolve("maps.rlm");
        AnnotateTesting.writeImages(images, IMAGES);
        Dataset dataset = Datasets.open("imagefolder:" + images);
        try (ModuleClassifier teacher = Models.create("resnet18", 3, ModelOptions.defaults().withSeed(11L))) {
            StateDicts.save(teacher, checkpoint);
            String[] args = {"annotate", "--data", "imagefolder:" + images, "--model", "resnet18", "--checkpoint",
                    checkpoint.toString(), "--size", String.valueOf(SIZE), "--k", "3", "--batch", "4", "--workers", "1",
                    "--out", out.toString()};

            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-cp", System.getProperty("java.class.path"), RelabelCli.class.getName()));
            command.addAll(List.of(args));
            Path log = tmp.resolve("child.log");
            Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Path journal = tmp.resolve("maps.rlm.partial.journal");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            try {
                while (journalEntries(journal) < 12) {  // three batches on file, most of the run still to do
                    if (!child.isAlive()) fail("the child exited (" + child.exitValue() + ") before it was killed: "
                            + Files.readString(log));
                    if (System.nanoTime() > deadline) fail("no record on file after 90 s: " + Files.readString(log));
                    Thread.sleep(2);
                }
            } finally {
                child.destroyForcibly();  // SIGKILL: no shutdown hooks, no close()
                child.waitFor(30, TimeUnit.SECONDS);
            }
            assertFalse(Files.exists(out), "killed mid-run, yet finished: " + Files.readString(log));
            assertTrue(Files.exists(tmp.resolve("maps.rlm.partial")));

            StringWriter so = new StringWriter(), se = new StringWriter();
            int code = RelabelCli.execute(new PrintWriter(so), new PrintWriter(se), args);
            assertEquals(0, code, so + "" + se);
            Matcher kept = Pattern.compile("annotated (\\d+) images .*, (\\d+) kept from the interrupted run").matcher(so.toString());
            assertTrue(kept.find(), so.toString());
            int written = Integer.parseInt(kept.group(1)), resumed = Integer.parseInt(kept.group(2));
            assertTrue(resumed >= 1 && resumed < IMAGES, "kept " + resumed);
            System.out.printf("killed after %d of %d records; the restart wrote %d%n", resumed, IMAGES, written);
            assertEquals(IMAGES, written + resumed);
            assertTrue(se.toString().contains("resuming " + out + ": " + resumed + " record(s) kept"), se.toString());

            try (LabelMapStore store = LabelMapStore.open(out)) {
                List<String> keys = AnnotateTesting.keys(store), want = new ArrayList<>();
                for (int i = 0; i < dataset.size(); ++i) want.add(dataset.sample(i).key());
                assertEquals(want, keys, "every sample once, in dataset order");
                assertTrue(store.verify(null).ok());
                AnnotateTesting.assertStoreMatches(store, dataset, teacher, SIZE, false);
            }
            assertFalse(Files.exists(journal));
        }
    }

    /** Entries in an annotation journal so far (complete ones), 0 while it does not exist. */
    private static int journalEntries(Path journal) throws IOException {
        if (!Files.exists(journal)) return 0;
        try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 12) return 0;
            ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // read it all (small)
            }
            b.flip();
            b.position(8);
            int json = b.getInt();
            if (b.remaining() < json + 4) return 0;
            b.position(12 + json + 4);
            int n = 0;
            while (b.remaining() >= 8) {
                b.getInt();
                int key = b.getInt();
                if (key <= 0 || b.remaining() < key + 4) break;
                b.position(b.position() + key + 4);
                ++n;
            }
            return n;
        }
    }
}
