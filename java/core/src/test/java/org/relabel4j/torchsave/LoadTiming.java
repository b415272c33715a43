package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.relabel4j.testing.Fixtures;

/**
 * Hand-run timing, not a test: loads the official-pt fixture files of one encoding 1024 times (cycling through
 * them) on one thread, after a warm-up, and prints the time per batch of 1024.
 *
 * <pre>
 * java -cp java/core/target/classes:java/core/target/test-classes org.relabel4j.torchsave.LoadTiming [encoding] [rounds]
 * </pre>
 */
public final class LoadTiming {
    private LoadTiming() {}

    public static void main(String[] args) throws IOException {
        String encoding = args.length > 0 ? args[0] : "relabel_imagenet";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Path dir = Fixtures.root().resolve("official-pt").resolve(encoding);
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(p -> p.toString().endsWith(".pt")).sorted().toList();
        }
        if (files.isEmpty()) throw new IllegalStateException("no .pt files under " + dir);
        long sink = 0;
        for (int round = 0; round < rounds; ++round) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 1024; ++i) sink += TorchSave.loadTensor(files.get(i % files.size())).data().nbytes();
            long t1 = System.nanoTime();
            System.out.printf("%s round %d: 1024 loads in %.1f ms (%.1f us each)%n", encoding, round, (t1 - t0) / 1e6,
                    (t1 - t0) / 1e3 / 1024);
        }
        System.out.println("(checksum " + sink + ")");
    }
}
