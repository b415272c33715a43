package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;

/**
 * Readers and writers of one store at the same time: a second writer is refused without touching the first's
 * file, a writer does not replace a store in use, readers share, and a store truncated or rewritten in place by
 * another program is reported before any read touches it (no SIGBUS).
 */
class StoreLockingTest {
    static final MapFormat F = new MapFormat(50, 3, 5, 5, DType.FLOAT16, DType.UINT16);

    @TempDir
    Path tmp;

    static void append(LabelMapStoreWriter w, int from, int to) throws IOException {
        Random rnd = new Random(from);
        for (int i = from; i < to; ++i) {
            StoreTestMaps.Map m = StoreTestMaps.random(rnd, F, StoreTestMaps.key(i));
            w.append(m.key(), m.scores(), m.ids());
        }
    }

    static Path store(Path out, int n) throws IOException {
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, F, Map.of())) {
            append(w, 0, n);
            w.finish();
        }
        return out;
    }

    @Test
    void aSecondWriterIsRefusedAndNeverTouchesTheFirstOnesFiles() throws IOException {
        Path out = tmp.resolve("s.rlm"), partial = tmp.resolve("s.rlm.partial"), journal = tmp.resolve("s.rlm.partial.journal");
        try (LabelMapStoreWriter first = LabelMapStoreWriter.create(out, F, Map.of())) {
            append(first, 0, 10);
            first.flush();
            byte[] p = Files.readAllBytes(partial), j = Files.readAllBytes(journal);
            for (var attempt : new ThrowingRunnable[] {
                    () -> LabelMapStoreWriter.create(out, F, Map.of()).close(),
                    () -> LabelMapStoreWriter.resume(out, F, Map.of()).close(),
                    () -> LabelMapStoreWriter.discard(out),
                    () -> LabelMapStoreWriter.unfinishedMetadata(out)}) {
                StoreBusyException e = assertThrows(StoreBusyException.class, attempt::run);
                assertTrue(e.getMessage().contains("another writer is producing it right now")
                        && e.getMessage().contains("s.rlm.partial"), e.getMessage());
            }
            assertArrayEquals(p, Files.readAllBytes(partial), "the live writer's records");
            assertArrayEquals(j, Files.readAllBytes(journal), "the live writer's journal");
            append(first, 10, 20);
            first.finish();
        }
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(20, s.size());
            assertTrue(s.verify(null).ok());
        }
    }

    @Test
    void aStoppedWritersFileIsFreeToResume() throws IOException {
        Path out = tmp.resolve("s.rlm");
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, F, Map.of())) {
            append(w, 0, 7);
        }  // closed unfinished: its lock goes with it, as with a killed process
        StoreException e = assertThrows(StoreException.class, () -> LabelMapStoreWriter.create(out, F, Map.of()));
        assertFalse(e instanceof StoreBusyException);
        assertTrue(e.getMessage().contains("an unfinished s.rlm.partial exists") && e.getMessage().contains("--resume"),
                e.getMessage());
        assertEquals(9, resumeAndFinish(out, 7, 7, 9));
    }

    /** Resumes the unfinished store at out (it must keep {@code kept} records), appends [from, to), finishes. */
    static long resumeAndFinish(Path out, long kept, int from, int to) throws IOException {
        try (LabelMapStoreWriter w = LabelMapStoreWriter.resume(out, F, Map.of())) {
            assertEquals(kept, w.count(), "the records kept for --resume");
            append(w, from, to);
            w.finish();
        }
        try (LabelMapStore s = LabelMapStore.open(out)) {
            return s.size();
        }
    }

    @Test
    void aWriterDoesNotReplaceAStoreInUse() throws IOException {
        Path out = store(tmp.resolve("s.rlm"), 5);
        byte[] before = Files.readAllBytes(out);
        try (LabelMapStore reader = LabelMapStore.open(out); LabelMapStore second = LabelMapStore.open(out)) {
            assertEquals(reader.size(), second.size(), "readers share the store");
            StoreBusyException e = assertThrows(StoreBusyException.class, () -> LabelMapStoreWriter.create(out, F, Map.of()));
            assertTrue(e.getMessage().contains("is open for reading"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("s.rlm.partial")), "refused before any work");
        }
        LabelMapStoreWriter w = LabelMapStoreWriter.create(out, F, Map.of());
        append(w, 0, 3);
        try (LabelMapStore reader = LabelMapStore.open(out)) {  // opened while the new store is being written
            StoreBusyException e = assertThrows(StoreBusyException.class, w::finish);
            assertTrue(e.getMessage().contains("is open for reading"), e.getMessage());
            assertEquals(5, reader.size());
        }
        w.close();
        assertArrayEquals(before, Files.readAllBytes(out), "the store in use is untouched");
        assertEquals(3, resumeAndFinish(out, 3, 3, 3), "the refused finish kept its records");
    }

    @Test
    void aTruncationIsReportedBeforeAnyReadTouchesTheLostPages() throws IOException {
        Path out = store(tmp.resolve("s.rlm"), 40);
        long size = Files.size(out);
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(F.k() * 25, s.map(3).ids().length);  // readable while intact
            try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
                ch.truncate(4096);
            }
            LabelPooling pooling = LabelPooling.builder(50).softmax(true).build();
            NdArray records = NdArray.of(new long[] {0, 39}), boxes = NdArray.of(new float[] {0, 0, 1, 1, 0, 0, .5f, .5f}, 2, 4);
            for (ThrowingRunnable read : new ThrowingRunnable[] {
                    () -> s.map(39),
                    () -> pooling.gather(s.records(), records, boxes, null),
                    () -> s.gather(new long[] {1}, NdArray.zeros(DType.UINT8, 1, s.recordSize())),
                    () -> s.verify(null),
                    s::checkUnchanged}) {
                Exception e = assertThrows(Exception.class, read::run);
                Throwable cause = e instanceof UncheckedIOException ? e.getCause() : e;
                assertInstanceOf(StoreChangedException.class, cause);
                assertTrue(cause.getMessage().contains(out + ": was truncated from " + size + " to 4096 bytes while open"),
                        cause.getMessage());
            }
        }
    }

    @Test
    void aRewriteInPlaceIsReportedAndARenameIsNot() throws Exception {
        Path out = store(tmp.resolve("s.rlm"), 8), other = store(tmp.resolve("t.rlm"), 2);
        try (LabelMapStore s = LabelMapStore.open(out)) {
            float[] first = s.map(0).scores();
            // A new store renamed over the path (what every writer here does, and `mv`): the open store keeps its file.
            Files.move(other, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            s.checkUnchanged();
            assertArrayEquals(first, s.map(0).scores());
            assertEquals(8, s.size());
        }
        store(tmp.resolve("u.rlm"), 8);
        Path u = tmp.resolve("u.rlm");
        try (LabelMapStore s = LabelMapStore.open(u)) {
            Thread.sleep(50);  // past the file system's timestamp granularity
            try (FileChannel ch = FileChannel.open(u, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 4096 + 10);  // bytes of record 0, size unchanged
            }
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> s.map(0));
            assertInstanceOf(StoreChangedException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("was modified in place while open"), e.getMessage());
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
