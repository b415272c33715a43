package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;

/** Stores past the 2 GiB offsets of Java buffers, the writer's out-of-core key sort, and the format's limits. */
class StoreScaleTest {
    private static final MapFormat TINY = new MapFormat(10, 1, 1, 1, DType.FLOAT32, DType.UINT16);

    @TempDir
    Path tmp;

    private static List<String> shuffledKeys(int n, long seed) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < n; ++i) keys.add(String.format("n%08d/n%08d_%d", i % 97, i % 97, i));
        Collections.shuffle(keys, new Random(seed));
        return keys;
    }

    private static void append(LabelMapStoreWriter w, String key, int i) throws IOException {
        w.append(key, new float[] {1f / (1 + i % 7)}, new int[] {i % 10});
    }

    @Test
    void keysSortOutOfCoreOnASmallBudget() throws IOException {
        Path out = tmp.resolve("spill.rlm");
        List<String> keys = shuffledKeys(3000, 7);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, TINY, Map.of())) {
            w.sortBudget(9000, 3);  // ~200 keys per run, merged 3 at a time: several passes
            for (int i = 0; i < keys.size(); ++i) append(w, keys.get(i), i);
            w.finish();
            assertTrue(w.sortRuns() > 10, "the spill path ran: " + w.sortRuns() + " runs");
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList(), "no run file or journal is left");
        }
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(keys.size(), s.size());
            for (int i = 0; i < keys.size(); ++i) {
                assertEquals(keys.get(i), s.key(i));
                assertEquals(i, s.find(keys.get(i)), keys.get(i));
            }
            assertEquals(-1, s.find("n00000000/n00000000_999999"));
            assertTrue(s.verify(null).ok());
        }
        // the same keys sorted in memory give the same bytes (the created date aside: compare the index regions)
        Path inMemory = tmp.resolve("memory.rlm");
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(inMemory, TINY, Map.of())) {
            for (int i = 0; i < keys.size(); ++i) append(w, keys.get(i), i);
            w.finish();
            assertEquals(0, w.sortRuns());
        }
        try (LabelMapStore a = LabelMapStore.open(out); LabelMapStore b = LabelMapStore.open(inMemory)) {
            for (String k : List.of(keys.get(0), keys.get(1234), keys.get(2999))) assertEquals(a.find(k), b.find(k));
        }
        assertEquals(indexBytes(out), indexBytes(inMemory));
    }

    @Test
    void longestKeysOnTheSmallestBudget() throws IOException {
        Path out = tmp.resolve("long.rlm");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 40; ++i)  // 4096-byte keys that differ only in their last bytes
            keys.add("k".repeat(StoreLimits.MAX_KEY_BYTES - 4) + String.format("%04d", (i * 17) % 40));
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, TINY, Map.of())) {
            w.sortBudget(1, 2);  // raised to the minimum: two keys of the largest size per run
            for (int i = 0; i < keys.size(); ++i) append(w, keys.get(i), i);
            w.finish();
            assertTrue(w.sortRuns() >= 20, w.sortRuns() + " runs");
        }
        try (LabelMapStore s = LabelMapStore.open(out)) {
            for (int i = 0; i < keys.size(); ++i) assertEquals(i, s.find(keys.get(i)));
            assertEquals(-1, s.find("k".repeat(StoreLimits.MAX_KEY_BYTES - 4) + "0040"));
        }
    }

    private static String indexBytes(Path store) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(store)).order(ByteOrder.LITTLE_ENDIAN);
        long at = h.getLong(72), size = h.getLong(80);
        byte[] b = new byte[(int) size];
        h.get((int) at, b);
        return java.util.HexFormat.of().formatHex(b);
    }

    @Test
    void duplicateKeysAcrossRunsAreRefusedAndTheWriterStaysResumable() throws IOException {
        Path out = tmp.resolve("dup.rlm");
        List<String> keys = shuffledKeys(1000, 3);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, TINY, Map.of())) {
            w.sortBudget(9000, 2);
            for (int i = 0; i < keys.size(); ++i) append(w, keys.get(i), i);
            append(w, keys.get(17), 1000);  // far from its first occurrence: another run
            StoreException e = assertThrows(StoreException.class, w::finish);
            assertTrue(e.getMessage().contains("duplicate key '" + keys.get(17) + "' (records 17 and 1000)"), e.getMessage());
        }
        assertFalse(Files.exists(out));
        try (Stream<Path> files = Files.list(tmp)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().contains(".sort")), "run files removed");
        }
        try (LabelMapStoreWriter w = LabelMapStoreWriter.resume(out, TINY, Map.of())) {
            assertEquals(1001, w.count(), "every record survives the failed finish");
            List<String> seen = new ArrayList<>();
            w.forEachKey(seen::add);
            assertEquals(keys.get(17), seen.get(1000));
            w.abort();
        }
    }

    /** The whole file mapped; closes the mapping. */
    private record Mapping(Pointer base, long size) implements AutoCloseable {
        static Mapping of(Path file) {
            Pointer base = new Pointer();
            try (LongPointer size = new LongPointer(1)) {
                assertEquals(RelabelNative.OK, RelabelNative.relabel_file_map(file.toString(), base, size),
                        RelabelNative.lastError());
                return new Mapping(base, size.get());
            }
        }

        @Override
        public void close() {
            RelabelNative.relabel_file_unmap(base, size);
        }
    }

    @Test
    void tinyChunksReadTheSameIndex() throws IOException {
        Path out = tmp.resolve("chunks.rlm");
        List<String> keys = shuffledKeys(500, 11);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, TINY, Map.of())) {
            for (int i = 0; i < keys.size(); ++i) append(w, keys.get(i), i);
            w.finish();
        }
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN);
        long at = h.getLong(72), size = h.getLong(80);
        try (Mapping m = Mapping.of(out)) {
            int reference = new MappedRegion(m.base(), at, size).crc();
            for (int bits : new int[] {3, 4, 5, 7, 12}) {  // keys, u64s and u32s straddle chunk ends
                MappedRegion region = new MappedRegion(m.base(), at, size, bits);
                assertEquals(reference, region.crc(), "chunk bits " + bits);
                KeyIndex index = KeyIndex.of(out, region, keys.size());
                for (int i = 0; i < keys.size(); ++i) {
                    assertEquals(keys.get(i), index.key(i), "chunk bits " + bits);
                    assertEquals(i, index.find(keys.get(i)), "chunk bits " + bits);
                }
                assertEquals(-1, index.find(keys.get(0) + "x"));
            }
        }
    }

    /**
     * A synthetic key index whose blob passes 2^31 bytes, in a sparse file (a few pages written, the rest holes):
     * key ends, the binary search and key reads past 2 GiB, in the region and in the file.
     */
    @Test
    void indexOffsetsPast2GiB() throws IOException {
        Path file = tmp.resolve("sparse.idx");
        long regionAt = 4096, count = 3, blobAt = 8 + 12 * count;
        long big = (1L << 31) + 16;  // key 1: "b" then zeros up to 2^31 + 16
        long[] ends = {1, big, big + 10};
        long size = blobAt + ends[2];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate((int) blobAt + 2).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(count);
            for (long e : ends) head.putLong(e);
            head.putInt(1).putInt(0).putInt(2);  // "b\0..." < "m" < "zzzzzzzzzz"
            head.put((byte) 'm').put((byte) 'b');
            ch.write(head.flip(), regionAt);
            ch.write(ByteBuffer.wrap("zzzzzzzzzz".getBytes(StandardCharsets.US_ASCII)), regionAt + blobAt + big);
        }
        assertEquals(regionAt + size, Files.size(file));
        try (Mapping m = Mapping.of(file)) {
            for (int bits : new int[] {30, 20}) {
                KeyIndex index = KeyIndex.of(file, new MappedRegion(m.base(), regionAt, size, bits), count);
                assertEquals(2, index.find("zzzzzzzzzz"), "a key that starts past 2^31");
                assertEquals(0, index.find("m"));
                assertEquals("zzzzzzzzzz", index.key(2));
                assertEquals(-1, index.find("b"), "key 1 is 'b' and 2^31 zero bytes");
                assertEquals(-1, index.find("zz"));
                assertEquals(-1, index.find("zzzzzzzzzzz"));
                MappedRegion r = new MappedRegion(m.base(), regionAt, size, bits);
                assertEquals((byte) 'z', r.get(blobAt + big + 9));
                assertEquals(0x7a7a7a7a, r.getInt(blobAt + big + 4));
                assertThrows(IndexOutOfBoundsException.class, () -> r.get(size));
            }
        }
    }

    @Test
    void limitsAreRefusedBeforeAnyWork() throws IOException {
        MapFormat imagenet = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("huge.rlm");
        StoreException e = assertThrows(StoreException.class,
                () -> LabelMapStoreWriter.create(out, TINY, Map.of(), StoreLimits.MAX_RECORDS + 1));
        assertTrue(e.getMessage().contains("cannot hold 4294967296 records: the store format holds at most 4294967295"),
                e.getMessage());
        assertTrue(e.getMessage().contains(out.toString()), e.getMessage());
        e = assertThrows(StoreException.class,
                () -> LabelMapStoreWriter.create(out, imagenet, Map.of(), 4_000_000_000L));  // 18 TB
        assertTrue(e.getMessage().matches("(?s).*4000000000 records of 4544 bytes need about 18\\d{3}\\.\\d\\d GB .* GB free.*"),
                e.getMessage());
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(0, files.count(), "nothing written");
        }
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, TINY, Map.of(), 10)) {
            append(w, "a", 0);
            w.finish();
        }
        // a header claiming more records than the format allows
        byte[] bytes = Files.readAllBytes(out);
        StoreHeader h = StoreHeader.decode(out, ByteBuffer.wrap(bytes), bytes.length);
        StoreHeader forged = new StoreHeader(h.format(), 1L << 32, h.recordSize(), h.recordsOffset(), h.crcOffset(),
                h.indexOffset(), h.indexSize(), h.metaOffset(), h.metaSize(), h.crcOfCrcs(), h.indexCrc(), h.metaCrc(), true);
        forged.encode().get(bytes, 0, StoreHeader.SIZE);
        Files.write(out, bytes);
        e = assertThrows(StoreException.class, () -> LabelMapStore.open(out));
        assertTrue(e.getMessage().contains("record count 4294967296 of 64 bytes is outside the format's limits"),
                e.getMessage());
    }

    @Test
    void everyResidencyReadsTheSameRecords() throws IOException {
        MapFormat f = new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("res.rlm");
        LabelMapStoreTest.write(out, f, 64, 5);
        long[] pick = {63, 0, 17, 17, 40, 2};
        float[] boxes = new float[4 * pick.length];
        for (int i = 0; i < pick.length; ++i) {
            boxes[4 * i] = 0.1f * (i % 3);
            boxes[4 * i + 1] = 0.05f * i;
            boxes[4 * i + 2] = boxes[4 * i] + 0.5f;
            boxes[4 * i + 3] = boxes[4 * i + 1] + 0.4f;
        }
        LabelPooling p = LabelPooling.builder(1000).softmax(true).outputSize(1).build();
        float[] reference = null;
        byte[] referenceRaw = null;
        for (LabelMapStore.Residency how : LabelMapStore.Residency.values()) {
            try (LabelMapStore s = LabelMapStore.open(out, how)) {
                // auto: a 64-record store is far below 1/8 of any machine's available memory
                assertEquals(how == LabelMapStore.Residency.AUTO ? LabelMapStore.Residency.RAM : how, s.residency());
                String d = s.residencyDescription();
                switch (how) {
                    case AUTO -> assertTrue(d.matches("auto: records 0\\.00 GB <= 1/[0-9]+ of the [0-9.]+ GB available; in RAM: .*"), d);
                    case MAPPED -> assertTrue(d.startsWith("mapped, madvise(RANDOM) on the records"), d);
                    case MAPPED_READAHEAD -> assertTrue(d.startsWith("mapped, kernel readahead"), d);
                    case RAM -> assertTrue(d.startsWith("in RAM: 0.00 GB of anonymous memory, ")
                            && (d.contains("transparent huge pages advised") || d.contains("4 KiB pages")), d);
                }
                s.prefetch(new long[] {-1, 3, 63, 64});  // out-of-range entries are skipped
                float[] pooled = p.gather(s.records(), NdArray.of(pick), NdArray.of(boxes, pick.length, 4), null)
                        .toFloatArray();
                NdArray raw = NdArray.zeros(DType.UINT8, pick.length, s.recordSize());
                s.gather(pick, raw);
                byte[] bytes = new byte[(int) raw.numel()];
                raw.buffer().get(0, bytes);
                assertEquals(17, s.find(StoreTestMaps.key(17)));
                assertEquals(StoreTestMaps.key(17), s.map(17).key());
                assertTrue(s.verify(null).ok(), how.toString());
                if (reference == null) {
                    reference = pooled;
                    referenceRaw = bytes;
                } else {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(reference, pooled, 0f, how.toString());
                    org.junit.jupiter.api.Assertions.assertArrayEquals(referenceRaw, bytes, how.toString());
                }
            }
        }
        assertEquals(LabelMapStore.Residency.MAPPED_READAHEAD, LabelMapStore.Residency.parse(" Mapped_Readahead "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LabelMapStore.Residency.parse("disk"));
        assertTrue(e.getMessage().contains("expected mapped, mapped-readahead, ram or auto"), e.getMessage());
    }

    @Test
    void autoResidencyHoldsInRamWhatFitsAnEighthOfTheAvailableMemory() {
        long imagenet = 1_281_167L * 4544;  // 5.82 GB of records
        assertEquals(LabelMapStore.Residency.RAM, LabelMapStore.Residency.auto(imagenet, 8 * imagenet, 1));
        assertEquals(LabelMapStore.Residency.MAPPED, LabelMapStore.Residency.auto(imagenet, 8 * imagenet - 8, 1));
        assertEquals(LabelMapStore.Residency.MAPPED, LabelMapStore.Residency.auto(imagenet, -1, 1), "unknown: mapped");
        assertEquals(LabelMapStore.Residency.RAM, LabelMapStore.Residency.auto(0, 0, 1));
        // 16 processes on the node (LOCAL_WORLD_SIZE): 1/16; fewer than 8 still leave room for 8
        assertEquals(LabelMapStore.Residency.RAM, LabelMapStore.Residency.auto(imagenet, 16 * imagenet, 16));
        assertEquals(LabelMapStore.Residency.MAPPED, LabelMapStore.Residency.auto(imagenet, 16 * imagenet - 16, 16));
        assertEquals(LabelMapStore.Residency.RAM, LabelMapStore.Residency.auto(imagenet, 8 * imagenet, 2));
        assertEquals(LabelMapStore.Residency.AUTO, LabelMapStore.Residency.parse("Auto"));
        for (LabelMapStore.Residency r : LabelMapStore.Residency.values())
            assertEquals(r, LabelMapStore.Residency.parse(r.key()), r.key());
        assertTrue(LabelMapStore.memoryAvailable() > 0, "this test runs on Linux: /proc/meminfo has MemAvailable");
    }
}
