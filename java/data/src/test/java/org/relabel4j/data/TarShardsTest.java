package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.data.ImageFolderTest.keys;
import static org.relabel4j.data.ImageFolderTest.labels;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class TarShardsTest {
    @TempDir
    Path tmp;

    /** Writes a tar of the members (name -> content; a name ending in '/' is a directory), PAX long names. */
    public static Path writeTar(Path file, Map<String, byte[]> members) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream os = Files.newOutputStream(file); TarArchiveOutputStream out = new TarArchiveOutputStream(os)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> m : members.entrySet()) {
                TarArchiveEntry e = new TarArchiveEntry(m.getKey());
                if (!m.getKey().endsWith("/")) e.setSize(m.getValue().length);
                out.putArchiveEntry(e);
                if (!m.getKey().endsWith("/")) out.write(m.getValue());
                out.closeArchiveEntry();
            }
        }
        return file;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void indexesKeysLabelsAndReadsTheBytesWritten() throws IOException {
        Random r = new Random(7);
        Map<String, byte[]> m = new LinkedHashMap<>();
        byte[] a = random(r, 1000), b = random(r, 70_000), c = random(r, 1), d = random(r, 512), e = random(r, 3);
        m.put("n01440764_10026.jpg", a);
        m.put("n01440764_10026.cls", bytes("0\n"));
        m.put("n01440764_10026.json", bytes("{}"));       // ignored member
        m.put("sub/", new byte[0]);                        // directory entry
        m.put("v1.0/dir/img.JPEG", b);                     // extensions in any case; dots in directories kept
        m.put("v1.0/dir/img.cls", bytes(" 12 "));
        m.put("v1.0/dir/img.seg.png", bytes("mask"));      // extension "seg.png" (after the name's first dot): ignored
        m.put("./lead.cls", bytes("3"));                    // leading ./ dropped; .cls before the image
        m.put("./lead.png", c);
        m.put("README", bytes("no key"));                   // no '.': no key, skipped
        m.put(".hidden.jpg", bytes("skipped"));
        String longKey = "x".repeat(150) + "/" + "y".repeat(120);
        m.put(longKey + ".jpeg", d);                       // PAX long names
        m.put(longKey + ".cls", bytes("5"));
        m.put("tail.cls", bytes("1"));
        m.put("tail.webp", e);
        Path shard = writeTar(tmp.resolve("one.tar"), m);
        TarShards t = TarShards.open(shard.toString());
        assertEquals(List.of("n01440764_10026", "v1.0/dir/img", "lead", longKey, "tail"), keys(t));
        assertEquals(List.of(0, 12, 3, 5, 1), labels(t));
        assertEquals(13, t.classes().size());
        byte[][] want = {a, b, c, d, e};
        for (int i = want.length - 1; i >= 0; i--) assertArrayEquals(want[i], t.read(i), "sample " + i);
        assertEquals(shard.toAbsolutePath() + ":v1.0/dir/img.JPEG", t.sample(1).origin());
        assertEquals("lead.png", t.member(2));
        assertEquals(0, t.skipped());
        assertTrue(t.description().contains("5 samples") && t.description().contains("1 shard)"), t.description());
        assertThrows(IndexOutOfBoundsException.class, () -> t.read(5));
    }

    @Test
    void shardPatternsKeepShardOrderAndRandomReadsMatch() throws IOException {
        Random r = new Random(11);
        Map<String, byte[]> written = new LinkedHashMap<>();
        List<String> wantKeys = new ArrayList<>();
        List<Integer> wantLabels = new ArrayList<>();
        for (int s = 0; s < 12; s++) {
            Map<String, byte[]> m = new LinkedHashMap<>();
            for (int k = 0; k < 1 + s % 4; k++) {
                String key = "s" + s + "/img" + k;
                byte[] img = random(r, 1 + r.nextInt(5000));
                m.put(key + ".jpg", img);
                m.put(key + ".cls", bytes(Integer.toString((s * 7 + k) % 10)));
                written.put(key, img);
                wantKeys.add(key);
                wantLabels.add((s * 7 + k) % 10);
            }
            writeTar(tmp.resolve(String.format("shards/train-%03d.tar", s)), m);
        }
        writeTar(tmp.resolve("shards/train-999.tar"), Map.of("z.jpg", bytes("x"), "z.cls", bytes("0")));  // not in the pattern
        String pattern = tmp.resolve("shards").toString() + "/train-{000..011}.tar";
        for (int threads : new int[] {1, 3}) {
            TarShards t = TarShards.builder(pattern).threads(threads).open();
            assertEquals(12, t.shards().size());
            assertEquals(wantKeys, keys(t));
            assertEquals(wantLabels, labels(t));
            for (int i = 0; i < t.size(); i++) {
                String key = t.sample(i).key();
                int shard = Integer.parseInt(key.substring(1, key.indexOf('/')));
                assertEquals(shard, t.shardOf(i));
                assertTrue(t.sample(i).origin().contains(String.format("train-%03d.tar:", shard)), t.sample(i).origin());
            }
            for (int n = 0; n < 200; n++) {
                int i = r.nextInt(t.size());
                assertArrayEquals(written.get(t.sample(i).key()), t.read(i), t.sample(i).origin());
            }
            // memory per sample: 21 bytes + the member name ("s10/img3.jpg": 12 bytes), well under 64
            assertTrue(t.indexBytes() / t.size() < 64, t.indexBytes() + " bytes for " + t.size() + " samples");
        }
        TarShards two = TarShards.open(tmp.resolve("shards") + "/train-{011,000}.tar");
        assertEquals("s11/img0", two.sample(0).key());
        assertEquals("s0/img0", two.sample(two.size() - 1).key());
        TarShards listed = TarShards.builder(List.of(tmp.resolve("shards/train-002.tar"))).open();
        assertEquals(3, listed.size());
    }

    @Test
    void incompleteKeysAreErrorsNamingShardAndKeyOrSkipped() throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("a.jpg", bytes("A"));
        m.put("a.cls", bytes("0"));
        m.put("b.jpg", bytes("B"));                  // no .cls
        m.put("c.cls", bytes("2"));                  // no image
        m.put("c.json", bytes("{}"));
        m.put("d.png", bytes("D"));
        m.put("d.cls", bytes("1"));
        Path shard = writeTar(tmp.resolve("inc.tar"), m);
        DatasetException e = assertThrows(DatasetException.class, () -> TarShards.open(shard.toString()));
        assertTrue(e.getMessage().startsWith(shard.toAbsolutePath() + ": key 'b' has no .cls label"), e.getMessage());
        Map<String, byte[]> m2 = new LinkedHashMap<>(m);
        m2.remove("b.jpg");
        Path shard2 = writeTar(tmp.resolve("inc2.tar"), m2);
        e = assertThrows(DatasetException.class, () -> TarShards.open(shard2.toString()));
        assertTrue(e.getMessage().startsWith(shard2.toAbsolutePath() + ": key 'c' has no image"), e.getMessage());

        TarShards t = TarShards.builder(shard.toString()).skipIncomplete(true).open();
        assertEquals(List.of("a", "d"), keys(t));
        assertEquals(2, t.skipped());
        assertTrue(t.description().contains("2 incomplete keys skipped, first inc.tar:b (no .cls label)"), t.description());
        assertArrayEquals(bytes("D"), t.read(1));
    }

    @Test
    void malformedShardsAreErrors() throws IOException {
        Path dupAcross1 = writeTar(tmp.resolve("d/x-0.tar"), Map.of("k.jpg", bytes("1"), "k.cls", bytes("0")));
        writeTar(tmp.resolve("d/x-1.tar"), Map.of("j.jpg", bytes("1"), "j.cls", bytes("0")));
        writeTar(tmp.resolve("d/x-2.tar"), Map.of("k.png", bytes("2"), "k.cls", bytes("1")));
        DatasetException e = assertThrows(DatasetException.class, () -> TarShards.open(tmp.resolve("d") + "/x-{0..2}.tar"));
        assertTrue(e.getMessage().contains("x-2.tar: key 'k' is also in " + dupAcross1.toAbsolutePath()), e.getMessage());

        Map<String, byte[]> two = new LinkedHashMap<>();
        two.put("k.jpg", bytes("1"));
        two.put("k.png", bytes("2"));
        two.put("k.cls", bytes("0"));
        Path twoImages = writeTar(tmp.resolve("two.tar"), two);
        e = assertThrows(DatasetException.class, () -> TarShards.open(twoImages.toString()));
        assertTrue(e.getMessage().contains("key 'k' has two images"), e.getMessage());

        Map<String, byte[]> badCls = new LinkedHashMap<>();
        badCls.put("k.jpg", bytes("1"));
        badCls.put("k.cls", bytes("dog"));
        Path bad = writeTar(tmp.resolve("badcls.tar"), badCls);
        e = assertThrows(DatasetException.class, () -> TarShards.open(bad.toString()));
        assertTrue(e.getMessage().contains("badcls.tar: k.cls: label 'dog' is not an integer"), e.getMessage());

        Path ok = writeTar(tmp.resolve("ok.tar"), Map.of("k.jpg", bytes("1"), "k.cls", bytes("4")));
        e = assertThrows(DatasetException.class, () -> TarShards.builder(ok.toString()).classes(List.of("a", "b")).open());
        assertTrue(e.getMessage().contains("label 4, not below the 2 classes"), e.getMessage());
        assertEquals(List.of("a", "b", "c", "d", "e"),
                TarShards.builder(ok.toString()).classes(List.of("a", "b", "c", "d", "e")).open().classes());

        e = assertThrows(DatasetException.class, () -> TarShards.open(tmp.resolve("ok-{0..3}.tar").toString()));
        assertTrue(e.getMessage().contains("ok-0.tar: no such shard (4 of the 4 shards"), e.getMessage());

        Path notTar = tmp.resolve("junk.tar");
        Files.write(notTar, random(new Random(3), 3000));
        e = assertThrows(DatasetException.class, () -> TarShards.open(notTar.toString()));
        assertTrue(e.getMessage().startsWith(notTar.toAbsolutePath().toString()), e.getMessage());

        Path empty = writeTar(tmp.resolve("empty.tar"), Map.of("readme.txt", bytes("hi")));
        assertThrows(DatasetException.class, () -> TarShards.open(empty.toString()));
    }

    @Test
    void readsGnuLongNamesUstarPrefixesAndRefusesBadHeaders() throws IOException {
        String longKey = "g".repeat(130) + "/k";
        Path gnu = tmp.resolve("gnu.tar");
        try (OutputStream os = Files.newOutputStream(gnu); TarArchiveOutputStream out = new TarArchiveOutputStream(os)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
            for (String[] m : new String[][] {{longKey + ".jpg", "img"}, {longKey + ".cls", "9"}}) {
                TarArchiveEntry e = new TarArchiveEntry(m[0]);
                e.setSize(m[1].length());
                out.putArchiveEntry(e);
                out.write(bytes(m[1]));
                out.closeArchiveEntry();
            }
        }
        TarShards t = TarShards.open(gnu.toString());
        assertEquals(List.of(longKey), keys(t));
        assertEquals(List.of(9), labels(t));
        assertArrayEquals(bytes("img"), t.read(0));

        // POSIX ustar: the first member's name split into prefix "pre/fix" + name "k.jpg"
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("pre/fix/k.jpg", bytes("jpeg bytes"));
        m.put("pre/fix/k.cls", bytes("2"));
        Path ustar = writeTar(tmp.resolve("ustar.tar"), m);
        byte[] b = Files.readAllBytes(ustar);
        assertEquals("ustar", new String(b, 257, 5, StandardCharsets.US_ASCII));
        Arrays.fill(b, 0, 100, (byte) 0);
        System.arraycopy(bytes("k.jpg"), 0, b, 0, 5);
        System.arraycopy(bytes("pre/fix"), 0, b, 345, 7);
        Arrays.fill(b, 148, 156, (byte) ' ');
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += b[i] & 0xFF;
        System.arraycopy(bytes(String.format("%06o\0 ", sum)), 0, b, 148, 8);
        Files.write(ustar, b);
        t = TarShards.open(ustar.toString());
        assertEquals(List.of("pre/fix/k"), keys(t));
        assertArrayEquals(bytes("jpeg bytes"), t.read(0));

        // a flipped byte in the second header: checksum mismatch at offset 1024
        b[1024 + 10] ^= 0x40;
        Files.write(ustar, b);
        DatasetException e = assertThrows(DatasetException.class, () -> TarShards.open(ustar.toString()));
        assertTrue(e.getMessage().contains("ustar.tar: not a tar header (checksum mismatch) at offset 1024"), e.getMessage());
        // cut inside the image data
        Files.write(ustar, Arrays.copyOf(b, 700));
        e = assertThrows(DatasetException.class, () -> TarShards.open(ustar.toString()));
        assertTrue(e.getMessage().contains("extends past the end") || e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void readNamesATruncatedShard() throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("k.cls", bytes("0"));
        m.put("k.jpg", random(new Random(1), 4000));  // header at 1024, data at 1536
        Path shard = writeTar(tmp.resolve("t.tar"), m);
        TarShards t = TarShards.open(shard.toString());
        assertEquals(4000, t.read(0).length);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(2000);
        }
        DatasetException e = assertThrows(DatasetException.class, () -> t.read(0));
        assertTrue(e.getMessage().contains("t.tar:k.jpg") && e.getMessage().contains("truncated"), e.getMessage());
        Files.delete(shard);
        e = assertThrows(DatasetException.class, () -> t.read(0));
        assertTrue(e.getMessage().contains("t.tar:k.jpg: cannot read"), e.getMessage());
    }
}
