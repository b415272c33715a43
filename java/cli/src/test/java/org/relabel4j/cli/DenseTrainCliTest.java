package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainData;

/** {@code relabel train --dense}: dense LabelPooling supervision from the command line, and its bad uses. */
class DenseTrainCliTest {
    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    String[] train(Path out, String... more) {
        return TrainCliTest.trainArgs(data, 1, out, more);
    }

    @Test
    void denseTrainsFromTheCommandLineAndBadUsesAreExit2() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        Path run = tmp.resolve("run");
        TrainCliTest.Run r = TrainCliTest.relabel(train(run, "--labelmaps", maps.toString(), "--dense",
                "--dense-weight", "0.25"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("dense supervision: 3 x 3") && r.out().contains("weight 0.25"), r.out());
        assertTrue(Files.exists(run.resolve("model.pth")));

        r = TrainCliTest.relabel(train(tmp.resolve("no-maps"), "--dense"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("data.relabel.dense") && r.err().contains("needs data.relabel.use"), r.err());

        r = TrainCliTest.relabel(train(tmp.resolve("size"), "--labelmaps", maps.toString(), "--dense", "--set",
                "data.relabel.dense_size=7"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("data.relabel.dense_size 7") && r.err().contains("3 x 3"), r.err());
    }
}
