package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;

class LabelMapStoreTest {
    @TempDir
    Path tmp;

    static List<StoreTestMaps.Map> write(Path out, MapFormat f, int n, long seed) throws IOException {
        Random rnd = new Random(seed);
        List<StoreTestMaps.Map> maps = new ArrayList<>();
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of("teacher", "test", "input_size", 224))) {
            for (int i = 0; i < n; ++i) {
                StoreTestMaps.Map m = StoreTestMaps.random(rnd, f, StoreTestMaps.key(i));
                maps.add(m);
                w.append(m.key(), m.scores().clone(), m.ids().clone());
            }
            assertFalse(Files.exists(out), "nothing at the output before finish");
            assertTrue(Files.exists(out.resolveSibling(out.getFileName() + ".partial")));
            w.finish();
        }
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial")));
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial.journal")));
        return maps;
    }

    static Stream<Arguments> formats() {
        return Stream.of(Arguments.of(new MapFormat(1000, 5, 15, 15, DType.FLOAT16, DType.UINT16)),
                Arguments.of(new MapFormat(1000, 5, 15, 15, DType.FLOAT32, DType.INT32)),
                Arguments.of(new MapFormat(1000, 5, 15, 15, DType.UINT8, DType.UINT16)),
                Arguments.of(new MapFormat(21843, 3, 7, 9, DType.FLOAT16, DType.INT32)),
                Arguments.of(new MapFormat(10, 1, 1, 1, DType.FLOAT32, DType.UINT16)));
    }

    @ParameterizedTest
    @MethodSource("formats")
    void roundTrip(MapFormat f) throws IOException {
        Path out = tmp.resolve("maps.rlm");
        List<StoreTestMaps.Map> maps = write(out, f, 300, f.hashCode());
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(f, s.format());
            assertEquals(300, s.size());
            assertEquals(f.layout().recordSize(), s.recordSize());
            assertTrue(s.metadataJson().contains("\"teacher\":\"test\"") && s.metadataJson().contains("\"created\""),
                    s.metadataJson());
            for (int i = 0; i < maps.size(); ++i) {
                StoreTestMaps.Map want = maps.get(i);
                assertEquals(want.key(), s.key(i));
                assertEquals(i, s.find(want.key()));
                LabelMap got = s.map(i);
                assertArrayEquals(want.ids(), got.ids());
                float step = 0;
                if (f.scoreType() == DType.UINT8) {
                    float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
                    for (float v : want.scores()) {
                        lo = Math.min(lo, v);
                        hi = Math.max(hi, v);
                    }
                    step = (hi - lo) / 255;
                }
                for (int e = 0; e < want.scores().length; ++e) {
                    float w = want.scores()[e], g = got.scores()[e];
                    switch (f.scoreType()) {
                        case FLOAT32 -> assertEquals(w, g, 0f);
                        case FLOAT16 -> assertEquals(Half.toFloat(Half.fromFloat(w)), g, 0f);
                        default -> assertTrue(Math.abs(w - g) <= step * 0.5f + 1e-5f, w + " vs " + g + " step " + step);
                    }
                }
            }
            assertEquals(-1, s.find("n00000000/missing"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.require("nope/x"));
            assertTrue(e.getMessage().contains("no label map for key 'nope/x'"), e.getMessage());
            assertTrue(s.verify(null).ok());
        }
    }

    @Test
    void poolingInPlaceEqualsPoolingDecodedMaps() throws IOException {
        MapFormat f = new MapFormat(1000, 5, 15, 15, DType.UINT8, DType.UINT16);
        Path out = tmp.resolve("maps.rlm");
        write(out, f, 64, 3);
        try (LabelMapStore s = LabelMapStore.open(out)) {
            long[] pick = {5, 0, 63, 5, 17};
            float[] boxes = new float[pick.length * 4];
            Random rnd = new Random(1);
            for (int i = 0; i < pick.length; ++i) {
                boxes[4 * i] = rnd.nextFloat() * 0.5f;
                boxes[4 * i + 1] = rnd.nextFloat() * 0.5f;
                boxes[4 * i + 2] = boxes[4 * i] + 0.3f;
                boxes[4 * i + 3] = boxes[4 * i + 1] + 0.4f;
            }
            NdArray b = NdArray.of(boxes, pick.length, 4);
            for (LabelPooling.Mode mode : LabelPooling.Mode.values()) {
                LabelPooling p = LabelPooling.builder(1000).mode(mode).softmax(true).outputSize(2).build();
                NdArray inPlace = p.gather(s.records(), NdArray.of(pick), b, null);
                // the same maps decoded (uint8 dequantized exactly as the native core does) and pooled as arrays
                int entries = 5 * 225;
                float[] sc = new float[pick.length * entries];
                int[] id = new int[pick.length * entries];
                for (int i = 0; i < pick.length; ++i) {
                    LabelMap m = s.map(pick[i]);
                    System.arraycopy(m.scores(), 0, sc, i * entries, entries);
                    System.arraycopy(m.ids(), 0, id, i * entries, entries);
                }
                NdArray decoded = p.apply(NdArray.of(sc, pick.length, 5, 15, 15), NdArray.of(id, pick.length, 5, 15, 15), b, null);
                assertArrayEquals(decoded.toFloatArray(), inPlace.toFloatArray(), 0f, mode.toString());
            }
            // gather of raw records into a caller buffer
            NdArray raw = NdArray.zeros(DType.UINT8, pick.length, s.recordSize());
            s.gather(pick, raw);
            for (int i = 0; i < pick.length; ++i) {
                for (int j = 0; j < s.recordSize(); ++j)
                    assertEquals(s.recordView(pick[i]).get(j), raw.buffer().get((int) (i * s.recordSize() + j)));
            }
        }
    }

    @Test
    void concurrentReaders() throws Exception {
        MapFormat f = new MapFormat(100, 3, 6, 6, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("maps.rlm");
        List<StoreTestMaps.Map> maps = write(out, f, 500, 9);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (LabelMapStore s = LabelMapStore.open(out)) {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < 4; ++t) {
                final int offset = t;
                futures.add(pool.submit(() -> {
                    int checked = 0;
                    for (int i = offset; i < 500; i += 4) {
                        assertEquals(maps.get(i).key(), s.key(s.find(maps.get(i).key())));
                        assertArrayEquals(maps.get(i).ids(), s.map(i).ids());
                        ++checked;
                    }
                    return checked;
                }));
            }
            int total = 0;
            for (Future<Integer> fu : futures) total += fu.get();
            assertEquals(500, total);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void resumeContinuesAfterTheLastVerifiedRecord() throws IOException {
        MapFormat f = new MapFormat(50, 2, 4, 4, DType.FLOAT32, DType.UINT16);
        Path out = tmp.resolve("maps.rlm");
        Random rnd = new Random(4);
        List<StoreTestMaps.Map> maps = new ArrayList<>();
        for (int i = 0; i < 40; ++i) maps.add(StoreTestMaps.random(rnd, f, StoreTestMaps.key(i)));
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            for (int i = 0; i < 25; ++i) w.append(maps.get(i).key(), maps.get(i).scores().clone(), maps.get(i).ids().clone());
        }  // closed unfinished: a crash
        Path partial = tmp.resolve("maps.rlm.partial");
        long recordSize = f.layout().recordSize();
        // The crash tore record 24 (half of it missing) and corrupted record 22's bytes: the writer resumes after 21.
        try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
            ch.truncate(4096 + 24 * recordSize + recordSize / 2);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0x5a}), 4096 + 22 * recordSize + 7);
        }
        assertThrows(StoreException.class, () -> LabelMapStore.open(partial));
        StoreException exists = assertThrows(StoreException.class, () -> LabelMapStoreWriter.create(out, f, Map.of()));
        assertTrue(exists.getMessage().contains("an unfinished maps.rlm.partial exists"), exists.getMessage());
        MapFormat other = new MapFormat(50, 3, 4, 4, DType.FLOAT32, DType.UINT16);
        StoreException mismatch = assertThrows(StoreException.class, () -> LabelMapStoreWriter.resume(out, other, Map.of()));
        assertTrue(mismatch.getMessage().contains("cannot resume"), mismatch.getMessage());
        try (LabelMapStoreWriter w = LabelMapStoreWriter.resume(out, f, Map.of())) {
            assertEquals(22, w.count(), "records 0..21 verify");
            for (int i = (int) w.count(); i < 40; ++i) w.append(maps.get(i).key(), maps.get(i).scores().clone(), maps.get(i).ids().clone());
            w.finish();
        }
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(40, s.size());
            assertTrue(s.verify(null).ok());
            for (int i = 0; i < 40; ++i) {
                assertEquals(maps.get(i).key(), s.key(i));
                assertArrayEquals(maps.get(i).scores(), s.map(i).scores(), 0f);
            }
        }
    }

    @Test
    void badMapsAndKeysAreRejected() throws IOException {
        MapFormat f = new MapFormat(10, 2, 2, 2, DType.FLOAT16, DType.UINT16);
        Path out = tmp.resolve("maps.rlm");
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            float[] s = {5, 4, 3, 2, 1, 1, 1, 1};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.append("a", s.clone(), new int[] {0, 1, 2, 3, 4, 5, 6, 10}));
            assertTrue(e.getMessage().contains("a: entry k=1 at (y=1, x=1) class id 10 is outside [0, 10)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append("b", s.clone(), new int[] {0, 1, 2, 3, 0, 5, 6, 7}));
            assertTrue(e.getMessage().contains("b: class id 0 appears twice in cell (y=0, x=0)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> w.append("c", new float[] {1e6f, 0, 0, 0, 0, 0, 0, 0}, new int[] {0, 1, 2, 3, 4, 5, 6, 7}));
            assertTrue(e.getMessage().contains("c: score 1000000.0 overflows float16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> w.append("d", new float[] {Float.NaN, 0, 0, 0, 0, 0, 0, 0}, new int[] {0, 1, 2, 3, 4, 5, 6, 7}));
            assertTrue(e.getMessage().contains("d: entry k=0 at (y=0, x=0) score is NaN"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append("e", new float[4], new int[4]));
            assertTrue(e.getMessage().contains("e: map has 4 scores and 4 ids, expected k*H*W = 8"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append("", s.clone(), new int[] {0, 1, 2, 3, 4, 5, 6, 7}));
            assertTrue(e.getMessage().contains("key must not be empty"), e.getMessage());
            // ascending cells are reordered, not rejected
            w.append("sorted", new float[] {1, 1, 1, 1, 5, 5, 5, 5}, new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            w.append("dup", s.clone(), new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            w.append("dup", s.clone(), new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            StoreException dup = assertThrows(StoreException.class, w::finish);
            assertTrue(dup.getMessage().contains("duplicate key 'dup' (records 1 and 2)"), dup.getMessage());
            w.abort();
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void corruptFilesNameTheProblem() throws IOException {
        MapFormat f = new MapFormat(100, 3, 5, 5, DType.FLOAT16, DType.UINT16);
        Path good = tmp.resolve("good.rlm");
        write(good, f, 50, 2);
        long size = Files.size(good);

        assertCorrupt(copy(good, "trunc.rlm", c -> c.truncate(size - 100)), "truncated or corrupt");
        assertCorrupt(copy(good, "short.rlm", c -> c.truncate(100)), "truncated: 100 bytes, shorter than the 4096-byte header");
        assertCorrupt(copy(good, "magic.rlm", c -> c.write(ByteBuffer.wrap("NOTASTOR".getBytes()), 0)),
                "not a ReLabel4J label-map store (magic NOTASTOR");
        assertCorrupt(copy(good, "headercrc.rlm", c -> c.write(ByteBuffer.wrap(new byte[] {9}), 17)),
                "header checksum mismatch");
        assertCorrupt(copy(good, "version.rlm", c -> rewriteHeader(c, b -> b.putInt(8, 7))),
                "format version 7 is not supported (this reader knows 1)");
        assertCorrupt(copy(good, "kgtc.rlm", c -> rewriteHeader(c, b -> b.putInt(16, 2))), "header: k (3) must be <= classes (2)");
        assertCorrupt(copy(good, "unfinished.rlm", c -> rewriteHeader(c, b -> b.putInt(116, 0))), "the store is unfinished");
        try (LabelMapStore s = LabelMapStore.open(good)) {
            long indexOffset = readHeader(good).getLong(72), metaOffset = readHeader(good).getLong(88);
            assertCorrupt(copy(good, "index.rlm", c -> c.write(ByteBuffer.wrap(new byte[] {(byte) 0xff}), indexOffset + 20)),
                    "key index checksum mismatch");
            assertCorrupt(copy(good, "meta.rlm", c -> c.write(ByteBuffer.wrap(new byte[] {'x'}), metaOffset + 2)),
                    "metadata checksum mismatch");
            assertTrue(s.size() == 50);
        }
        // A flipped byte inside a record: the store opens, and verify names the record.
        Path flipped = copy(good, "flipped.rlm", c -> c.write(ByteBuffer.wrap(new byte[] {(byte) 0x77}),
                4096 + 13 * f.layout().recordSize() + 5));
        try (LabelMapStore s = LabelMapStore.open(flipped)) {
            LabelMapStore.Verification v = s.verify(null);
            assertEquals(1, v.bad());
            assertEquals(List.of(13L), v.firstBad());
        }
        assertThrows(java.nio.file.NoSuchFileException.class, () -> LabelMapStore.open(tmp.resolve("missing.rlm")));
    }

    interface ChannelEdit {
        void apply(FileChannel c) throws IOException;
    }

    interface HeaderEdit {
        void apply(ByteBuffer header);
    }

    private Path copy(Path src, String name, ChannelEdit edit) throws IOException {
        Path dst = tmp.resolve(name);
        Files.copy(src, dst);
        try (FileChannel c = FileChannel.open(dst, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            edit.apply(c);
        }
        return dst;
    }

    private static ByteBuffer readHeader(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p)) {
            ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            c.read(b, 0);
            return b.flip();
        }
    }

    /** Edits header fields and re-signs the header, so that only the edited field is wrong. */
    private static void rewriteHeader(FileChannel c, HeaderEdit edit) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        c.read(b, 0);
        b.flip();
        edit.apply(b);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 4092);
        b.putInt(4092, (int) crc.getValue());
        c.write(b.clear(), 0);
    }

    private static void assertCorrupt(Path file, String expected) {
        StoreException e = assertThrows(StoreException.class, () -> LabelMapStore.open(file).close());
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
    }
}
