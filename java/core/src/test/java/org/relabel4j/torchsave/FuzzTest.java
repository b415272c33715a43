package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupted copies of real files (flipped bytes, random bytes, truncations) either load or fail with a
 * TorchSaveException naming the file: never another exception, never a hang. Deterministic (fixed seeds). The
 * corrupted bytes are parsed from memory (the same code as for a file read whole); ErrorTest covers reading files.
 */
class FuzzTest {
    private static final List<String> RESOURCES = List.of("state_dict_zip.pt", "state_dict_legacy.pt",
            "state_dict_p4.pt", "protocol4_misc.pt", "single_legacy_p2.pt", "param_legacy_p1.pt");
    private static final int[] MASKS = {0x01, 0x80, 0xff, 0x10, 0x7f};

    @TempDir
    Path tmp;

    private int loaded, refused;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void corruptedFilesFailCleanly() throws IOException {
        List<Path> inputs = new ArrayList<>();
        for (String r : RESOURCES) inputs.add(TorchFiles.resource(r, tmp));
        Path fixtures = OfficialLabelMapTest.root();
        for (String enc : List.of("relabel_imagenet", "legacy", "fp16")) {
            Path dir = fixtures.resolve(enc);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".pt")).sorted().limit(1).forEach(inputs::add);
            }
        }
        if (inputs.size() == RESOURCES.size())
            System.err.println("FuzzTest: official-pt fixtures not found at " + fixtures
                    + "; fuzzing the test resources only");
        Path target = tmp.resolve("fuzzed.pt");
        for (Path input : inputs) {
            byte[] original = Files.readAllBytes(input);
            String name = input.getFileName().toString();
            Random rnd = new Random(name.hashCode());
            // every byte of small files, the head and tail of larger ones (pickles and zip directories live there)
            for (int i = 0; i < original.length; ++i) {
                if (original.length > 6000 && i >= 1000 && i < original.length - 1000) continue;
                byte[] b = original.clone();
                b[i] ^= (byte) MASKS[i % MASKS.length];
                check(target, b, name + " with byte " + i + " flipped");
            }
            for (int k = 0; k < 400; ++k) {
                byte[] b = original.clone();
                int n = 1 + rnd.nextInt(4);
                StringBuilder what = new StringBuilder(name + " with bytes");
                for (int j = 0; j < n; ++j) {
                    int i = rnd.nextInt(b.length);
                    b[i] = (byte) rnd.nextInt(256);
                    what.append(' ').append(i);
                }
                check(target, b, what + " randomized");
            }
            for (int len = 0; len < original.length; len += len < 800 ? 1 : 1 + rnd.nextInt(64))
                check(target, Arrays.copyOf(original, len), name + " truncated to " + len + " bytes");
        }
        System.err.println("FuzzTest: " + loaded + " corrupted files still loaded, " + refused + " were refused");
        assertTrue(refused > 0);
    }

    /** Loads {@code bytes} as if they were file {@code target} (in memory: writing 30k files would take minutes). */
    private void check(Path target, byte[] bytes, String what) {
        try {
            touch(TorchSave.load(target, bytes));
            ++loaded;
        } catch (TorchSaveException e) {
            assertTrue(e.getMessage().startsWith(target + ": "), what + ": message does not name the file");
            ++refused;
        } catch (Throwable t) {
            fail(what + ": " + t, t);
        }
    }

    /** Walks what was loaded (acyclic containers only: what torch writes), checking every tensor has its data. */
    private static void touch(Object o) {
        if (o instanceof TorchTensor t) assertNotNull(t.data());
        else if (o instanceof Map<?, ?> m) m.values().forEach(FuzzTest::touchShallow);
        else if (o instanceof Collection<?> c) c.forEach(FuzzTest::touchShallow);
    }

    private static void touchShallow(Object o) {
        if (o instanceof TorchTensor t) assertNotNull(t.data());
    }
}
