package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.testing.Fixtures;

/** `relabel import`, `store merge`, `store convert` and `inspect` end to end on the released-map fixtures. */
class StoreCliTest {
    @TempDir
    Path tmp;

    static final String[] KEYS = {"n01440764/n01440764_10026", "n01440764/n01440764_10027", "n01443537/n01443537_1032"};

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Path pt(String encoding) {
        return Fixtures.root().resolve("official-pt").resolve(encoding);
    }

    static NdArray expected(String key, String what) {
        String stem = key.substring(key.indexOf('/') + 1);
        return Fixtures.load(Fixtures.root().resolve("official-pt/expected"), stem + "_" + what + ".npy");
    }

    @Test
    void importsEveryEncodingOfTheReleasedMaps() throws IOException {
        Fixtures.assumePresent();
        for (String encoding : new String[] {"relabel_imagenet", "legacy", "fp16"}) {
            Path out = tmp.resolve(encoding + ".rlm");
            Run r = relabel("import", "--format", "official", "--src", pt(encoding).toString(), "--out", out.toString(),
                    "--score-dtype", "fp32", "--threads", "2");
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().startsWith("imported 3 of 3 files"), r.out());
            try (LabelMapStore s = LabelMapStore.open(out)) {
                assertEquals(3, s.size());
                assertEquals(5, s.format().k());
                assertEquals(15, s.format().height());
                assertEquals(DType.UINT16, s.format().indexType());
                for (int i = 0; i < 3; ++i) {
                    assertEquals(KEYS[i], s.key(i));
                    LabelMap m = s.map(i);
                    float[] want = expected(KEYS[i], "scores").toFloatArray();
                    if (encoding.equals("fp16")) {
                        for (int e = 0; e < want.length; ++e) want[e] = Half.toFloat(Half.fromFloat(want[e]));
                    }
                    assertArrayEquals(want, m.scores(), 0f, encoding + " " + KEYS[i]);
                    long[] ids = expected(KEYS[i], "indices").toLongArray();
                    for (int e = 0; e < ids.length; ++e) assertEquals(ids[e], m.ids()[e]);
                }
                assertTrue(s.metadataJson().contains("\"source_format\":\"official\""), s.metadataJson());
                assertTrue(s.metadataJson().contains("\"command\":\"relabel import"), s.metadataJson());
            }
        }
    }

    @Test
    void tokenLabelMapsMustBeHalf() throws IOException {
        Fixtures.assumePresent();
        Run ok = relabel("import", "--format", "tokenlabel", "--src", pt("fp16").toString(), "--out",
                tmp.resolve("tl.rlm").toString());
        assertEquals(0, ok.code(), ok.err());
        Run bad = relabel("import", "--format", "tokenlabel", "--src", pt("relabel_imagenet").toString(), "--out",
                tmp.resolve("tl2.rlm").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, bad.code(), bad.out());
        assertTrue(bad.err().contains("TokenLabeling maps are float16"), bad.err());
    }

    private Path treeWithBadFiles() throws IOException {
        Path tree = tmp.resolve("tree");
        for (String key : KEYS) {
            Path dst = tree.resolve(key + ".pt");
            Files.createDirectories(dst.getParent());
            Files.copy(pt("relabel_imagenet").resolve(key + ".pt"), dst);
        }
        Path bad = tree.resolve("n09999999");
        Files.createDirectories(bad);
        for (String r : new String[] {"wrong_shape.pt", "a_dict.pt", "missing_entry.pt", "fractional_ids.pt"}) {
            try (var in = StoreCliTest.class.getResourceAsStream("/import/" + r)) {
                Files.copy(in, bad.resolve(r));
            }
        }
        Files.write(bad.resolve("not_torch.pt"), "hello".getBytes());
        return tree;
    }

    @Test
    void unreadableFilesAreListedWithTheirReason() throws IOException {
        Fixtures.assumePresent();
        Path tree = treeWithBadFiles();
        Path out = tmp.resolve("maps.rlm");
        Run r = relabel("import", "--src", tree.toString(), "--out", out.toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("5 file(s) could not be imported"), r.err());
        assertTrue(r.err().contains("wrong_shape.pt: holds a float32[3, 2, 2, 2] tensor, expected [2, k, H, W]"), r.err());
        assertTrue(r.err().contains("a_dict.pt:"), r.err());
        assertTrue(r.err().contains("missing_entry.pt:") && r.err().contains("missing"), r.err());
        assertTrue(r.err().contains("fractional_ids.pt: map [2, 1, 2, 2] differs from the first file's [2, 5, 15, 15]"),
                r.err());
        assertTrue(r.err().contains("not_torch.pt:"), r.err());
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(3, s.size(), "the readable files were imported");
        }
        Run strict = relabel("import", "--strict", "--src", tree.toString(), "--out", tmp.resolve("strict.rlm").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, strict.code());
        assertTrue(strict.err().contains("relabel import: error:"), strict.err());
        assertFalse(Files.exists(tmp.resolve("strict.rlm")));
        assertFalse(Files.exists(tmp.resolve("strict.rlm.partial")));
    }

    @Test
    void shardsMergeIntoTheWholeImport() throws IOException {
        Fixtures.assumePresent();
        Path whole = tmp.resolve("whole.rlm"), out = tmp.resolve("maps.rlm");
        assertEquals(0, relabel("import", "--src", pt("legacy").toString(), "--out", whole.toString()).code());
        for (int i = 0; i < 2; ++i) {
            Run r = relabel("import", "--src", pt("legacy").toString(), "--out", out.toString(), "--shard", i + "/2");
            assertEquals(0, r.code(), r.err());
        }
        Path keys = tmp.resolve("keys.txt");
        Files.write(keys, List.of(KEYS));
        Run m = relabel("store", "merge", "--out", out.toString(), "--keys", keys.toString(),
                tmp.resolve("maps.rlm.shard-00000-of-00002").toString(), tmp.resolve("maps.rlm.shard-00001-of-00002").toString());
        assertEquals(0, m.code(), m.err());
        try (LabelMapStore a = LabelMapStore.open(whole); LabelMapStore b = LabelMapStore.open(out)) {
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); ++i) {
                assertEquals(a.key(i), b.key(i));
                assertArrayEquals(a.map(i).scores(), b.map(i).scores(), 0f);
            }
        }
        Run badShard = relabel("import", "--src", pt("legacy").toString(), "--out", out.toString(), "--shard", "2/2");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, badShard.code());
        assertTrue(badShard.err().contains("shard must be i/N with 0 <= i < N, got 2/2"), badShard.err());
    }

    @Test
    void inspectConvertAndVerify() throws IOException {
        Fixtures.assumePresent();
        Path out = tmp.resolve("maps.rlm");
        assertEquals(0, relabel("import", "--src", pt("relabel_imagenet").toString(), "--out", out.toString(),
                "--score-dtype", "fp32").code());
        Run text = relabel("inspect", out.toString(), "--verify", "--key", KEYS[2]);
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("records:   3 of 6784 bytes"), text.out());
        assertTrue(text.out().contains("format:    C=1000 k=5 15x15, scores float32, class ids uint16"), text.out());
        assertTrue(text.out().contains("verify:    OK, 3 records"), text.out());
        assertTrue(text.out().contains("key:       " + KEYS[2] + " (record 2)"), text.out());
        assertTrue(text.out().contains("whole image, pooled logits:"), text.out());
        assertTrue(text.out().contains("access:    mapped, madvise(RANDOM) on the records (0.00 GB): no readahead from disk"), text.out());
        Run ram = relabel("inspect", out.toString(), "--residency", "ram", "--verify");
        assertEquals(0, ram.code(), ram.err());
        assertTrue(ram.out().contains("access:    in RAM: 0.00 GB of anonymous memory, "), ram.out());
        assertTrue(ram.out().contains("verify:    OK, 3 records"), ram.out());
        Run badResidency = relabel("inspect", out.toString(), "--residency", "disk");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, badResidency.code());
        assertTrue(badResidency.err().contains("store residency 'disk': expected mapped, mapped-readahead, ram or auto"),
                badResidency.err());
        assertTrue(text.out().contains("  ( 0, 0):"), text.out());
        Run json = relabel("inspect", out.toString(), "--json", "--key", KEYS[0]);
        JsonNode n = new ObjectMapper().readTree(json.out());
        assertEquals(3, n.get("records").asInt());
        long[] ids = expected(KEYS[0], "indices").toLongArray();
        assertEquals(ids[0], n.get("map").get("cells").get(0).get("top").get(0).get("class").asLong());
        Run unknown = relabel("inspect", out.toString(), "--key", "n0/none");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, unknown.code());
        assertTrue(unknown.err().contains("no label map for key 'n0/none'"), unknown.err());

        Path q = tmp.resolve("q.rlm");
        Run c = relabel("store", "convert", "--in", out.toString(), "--out", q.toString(), "--score-dtype", "uint8", "--k", "2");
        assertEquals(0, c.code(), c.err());
        try (LabelMapStore s = LabelMapStore.open(q)) {
            assertEquals(2, s.format().k());
            assertEquals(DType.UINT8, s.format().scoreType());
        }
        Run badConvert = relabel("store", "convert", "--in", out.toString(), "--out", tmp.resolve("x.rlm").toString(), "--k", "7");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, badConvert.code());
        assertTrue(badConvert.err().contains("k = 7 exceeds the store's k = 5"), badConvert.err());

        // A flipped byte in a record: inspect --verify names it and exits 2.
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xee}), 4096 + 6784 + 100);
        }
        Run v = relabel("inspect", out.toString(), "--verify");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, v.code());
        assertTrue(v.out().contains("verify:    1 record(s) fail their checksum: [1]"), v.out());
        Run corrupt = relabel("inspect", tmp.resolve("tree-missing.rlm").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, corrupt.code());
        try (Stream<Path> leftovers = Files.list(tmp)) {
            assertTrue(leftovers.noneMatch(p -> p.toString().endsWith(".partial")), "no partial files left");
        }
    }
}
