package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torchsave.TorchFiles;

/**
 * kill -9 during `relabel import` in a child JVM, then `import --resume`: the finished store's records, checksums
 * and key index are byte for byte those of an import that was never interrupted (only the header's offsets and the
 * metadata, which records the command and the time, may differ).
 */
class ImportKillTest {
    static final int FILES = 6000;

    @TempDir
    Path tmp;

    /** FILES released-format maps ([2,1,2,2] float32 in a zip .pt), each with its own scores and class ids. */
    static Path tree(Path src) throws IOException {
        TorchFiles.Pickle p = new TorchFiles.Pickle().proto(2);
        byte[] pickle = p.tensor(() -> p.storage("FloatStorage", "0", 8), 0, new long[] {2, 1, 2, 2},
                new long[] {4, 4, 2, 1}).stop().bytes();
        for (int i = 0; i < FILES; ++i) {
            Path f = src.resolve(String.format("n%02d/f%05d.pt", i % 10, i));
            Files.createDirectories(f.getParent());
            float s = 1f + (i % 97) / 8f;
            TorchFiles.writeZip(f, "archive", pickle, Map.of("0", TorchFiles.floats(s, s + 1, s + 2, s + 3,
                    i % 1000, (i + 1) % 1000, (i + 2) % 1000, (i + 3) % 1000)));
        }
        return src;
    }

    @Test
    void killedThenResumedEqualsAnUninterruptedImport() throws Exception {
        Path src = tree(tmp.resolve("src")), out = tmp.resolve("maps.rlm"), whole = tmp.resolve("whole.rlm");
        String[] args = {"import", "--src", src.toString(), "--out", out.toString(), "--threads", "1"};
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), RelabelCli.class.getName()));
        command.addAll(List.of(args));
        Path log = tmp.resolve("child.log"), journal = tmp.resolve("maps.rlm.partial.journal");
        Process child = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        long journalAtKill;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            long header = -1;
            while (true) {  // the first entries on file: part of the work done, most still to do
                if (header < 0 && Files.exists(journal) && Files.size(journal) >= 12) header = journalHeader(journal);
                if (header > 0 && Files.size(journal) > header) break;
                if (!child.isAlive()) fail("the import ended (" + child.exitValue() + ") before it was killed: "
                        + Files.readString(log));
                if (System.nanoTime() > deadline) fail("nothing on file after 120 s: " + Files.readString(log));
                Thread.sleep(1);
            }
            journalAtKill = Files.size(journal);
        } finally {
            child.destroyForcibly();  // SIGKILL
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertFalse(Files.exists(out), "killed mid-run, yet finished: " + Files.readString(log));

        StringWriter so = new StringWriter(), se = new StringWriter();
        assertEquals(0, RelabelCli.execute(new PrintWriter(so), new PrintWriter(se),
                "import", "--src", src.toString(), "--out", out.toString(), "--threads", "1", "--resume"), so + "" + se);
        Matcher m = Pattern.compile("imported (\\d+) of " + FILES + " files .*, (\\d+) kept from the interrupted run")
                .matcher(so.toString());
        assertTrue(m.find(), so.toString());
        int written = Integer.parseInt(m.group(1)), kept = Integer.parseInt(m.group(2));
        System.out.printf("import killed with %d journal bytes on file: %d records kept, %d imported after%n",
                journalAtKill, kept, written);
        assertTrue(kept > 0 && kept < FILES, "kept " + kept);
        assertEquals(FILES, kept + written);
        assertFalse(Files.exists(journal));

        assertEquals(0, RelabelCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                "import", "--src", src.toString(), "--out", whole.toString(), "--threads", "2"));
        for (String region : new String[] {"records", "crcs", "index"})
            assertArrayEquals(region(whole, region), region(out, region), region + " differ");
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(FILES, s.size());
            assertTrue(s.verify(null).ok());
        }
    }

    /** Bytes of the journal's header (magic, metadata and its checksum): entries follow. */
    private static long journalHeader(Path journal) throws IOException {
        byte[] b = Files.readAllBytes(journal);
        return 16L + ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
    }

    /** A region of a store file, by the header's offsets (docs/store-format.md). */
    private static byte[] region(Path store, String which) throws IOException {
        byte[] b = Files.readAllBytes(store);
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long count = h.getLong(40), recordSize = h.getLong(48);
        return switch (which) {
            case "records" -> Arrays.copyOfRange(b, (int) h.getLong(56), (int) (h.getLong(56) + count * recordSize));
            case "crcs" -> Arrays.copyOfRange(b, (int) h.getLong(64), (int) (h.getLong(64) + 4 * count));
            default -> Arrays.copyOfRange(b, (int) h.getLong(72), (int) (h.getLong(72) + h.getLong(80)));
        };
    }
}
