package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code relabel demo --task}: a bad task, or missing data for the multi-label demo, is exit 2 with a clear message. */
class MultiLabelDemoCliTest {
    @TempDir
    Path tmp;

    @Test
    void badTaskAndMissingDataAreExit2() {
        EvalCliTest.Run r = EvalCliTest.relabel("demo", "--task", "multi", "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--task must be single or multilabel"), r.err());
        r = EvalCliTest.relabel("demo", "--task", "multilabel", "--smoke", "--fashion-mnist", tmp.resolve("none").toString(),
                "--out", tmp.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains(tmp.resolve("none").toString()), r.err());
    }
}
