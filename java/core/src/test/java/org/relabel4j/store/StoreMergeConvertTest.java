package org.relabel4j.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.ops.MapFormat;

class StoreMergeConvertTest {
    @TempDir
    Path tmp;

    static final MapFormat F = new MapFormat(200, 4, 5, 6, DType.FLOAT32, DType.UINT16);

    private List<StoreTestMaps.Map> shard(Path out, int from, int to, MapFormat f) throws IOException {
        Random rnd = new Random(from);
        List<StoreTestMaps.Map> maps = new ArrayList<>();
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of("shard", from + "-" + to))) {
            for (int i = from; i < to; ++i) {
                StoreTestMaps.Map m = StoreTestMaps.random(rnd, f, StoreTestMaps.key(i));
                maps.add(m);
                w.append(m.key(), m.scores().clone(), m.ids().clone());
            }
            w.finish();
        }
        return maps;
    }

    @Test
    void mergesShardsInOrder() throws IOException {
        List<StoreTestMaps.Map> all = new ArrayList<>();
        all.addAll(shard(tmp.resolve("a.rlm"), 0, 30, F));
        all.addAll(shard(tmp.resolve("b.rlm"), 30, 45, F));
        all.addAll(shard(tmp.resolve("c.rlm"), 45, 100, F));
        Path keys = tmp.resolve("keys.txt");
        Files.write(keys, all.stream().map(StoreTestMaps.Map::key).toList());
        Path out = tmp.resolve("merged.rlm");
        long n = StoreMerge.merge(List.of(tmp.resolve("a.rlm"), tmp.resolve("b.rlm"), tmp.resolve("c.rlm")), out, keys, null);
        assertEquals(100, n);
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(100, s.size());
            assertTrue(s.verify(null).ok());
            for (int i = 0; i < 100; ++i) {
                assertEquals(all.get(i).key(), s.key(i));
                assertArrayEquals(all.get(i).scores(), s.map(i).scores(), 0f);
                assertEquals(i, s.find(all.get(i).key()));
            }
            assertTrue(s.metadataJson().contains("merged_from"), s.metadataJson());
        }
    }

    @Test
    void mergeChecksFormatsKeysAndTheKeyList() throws IOException {
        shard(tmp.resolve("a.rlm"), 0, 10, F);
        shard(tmp.resolve("b.rlm"), 5, 12, F);  // keys 5..9 repeat
        shard(tmp.resolve("c.rlm"), 10, 20, new MapFormat(200, 3, 5, 6, DType.FLOAT32, DType.UINT16));
        shard(tmp.resolve("d.rlm"), 10, 20, F);
        Path out = tmp.resolve("m.rlm");
        StoreException e = assertThrows(StoreException.class,
                () -> StoreMerge.merge(List.of(tmp.resolve("a.rlm"), tmp.resolve("c.rlm")), out, null, null));
        assertTrue(e.getMessage().contains("c.rlm: format") && e.getMessage().contains("shards of one store must agree"),
                e.getMessage());
        e = assertThrows(StoreException.class,
                () -> StoreMerge.merge(List.of(tmp.resolve("a.rlm"), tmp.resolve("b.rlm")), out, null, null));
        String message = e.getMessage();  // one of the repeated keys (the first in key order), named with both parts
        assertTrue(java.util.stream.IntStream.range(5, 10).anyMatch(i -> message.contains("b.rlm: duplicate key '"
                + StoreTestMaps.key(i) + "' (also in " + tmp.resolve("a.rlm") + ")")), message);
        assertFalse(Files.exists(out) || Files.exists(tmp.resolve("m.rlm.partial")), "nothing left of the merge");
        Path keys = tmp.resolve("keys.txt");
        List<String> list = new ArrayList<>();
        for (int i = 0; i < 19; ++i) list.add(StoreTestMaps.key(i));  // key 19 is missing from the list
        list.add("n99999999/absent");
        Files.write(keys, list);
        e = assertThrows(StoreException.class,
                () -> StoreMerge.merge(List.of(tmp.resolve("a.rlm"), tmp.resolve("d.rlm")), out, keys, null));
        assertTrue(e.getMessage().contains("1 key(s) of the list have no label map (e.g. n99999999/absent) and 1 label map(s)"
                + " are not in the list (e.g. " + StoreTestMaps.key(19) + ")"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void convertsDtypesAndDropsEntries() throws IOException {
        List<StoreTestMaps.Map> maps = shard(tmp.resolve("a.rlm"), 0, 20, F);
        Path half = tmp.resolve("half.rlm"), q = tmp.resolve("q.rlm");
        MapFormat to = StoreConvert.convert(tmp.resolve("a.rlm"), half, DType.FLOAT16, 2, null);
        assertEquals(new MapFormat(200, 2, 5, 6, DType.FLOAT16, DType.UINT16), to);
        StoreConvert.convert(half, q, DType.UINT8, 0, null);
        int cells = 30;
        try (LabelMapStore h = LabelMapStore.open(half); LabelMapStore u = LabelMapStore.open(q)) {
            assertEquals(20, h.size());
            assertEquals(DType.UINT8, u.format().scoreType());
            for (int i = 0; i < 20; ++i) {
                LabelMap m = h.map(i), mq = u.map(i);
                assertEquals(maps.get(i).key(), m.key());
                for (int e = 0; e < 2 * cells; ++e) {  // the top-2 planes of the original
                    assertEquals(Half.toFloat(Half.fromFloat(maps.get(i).scores()[e])), m.scores()[e], 0f);
                    assertEquals(maps.get(i).ids()[e], m.ids()[e]);
                    assertEquals(m.scores()[e], mq.scores()[e], 0.05f);
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StoreConvert.convert(tmp.resolve("a.rlm"), tmp.resolve("x.rlm"), null, 9, null));
        assertTrue(e.getMessage().contains("k = 9 exceeds the store's k = 4"), e.getMessage());
    }
}
