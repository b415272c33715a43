package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.torchsave.TorchFiles;
import org.relabel4j.torchsave.TorchSaveWriter;

/**
 * Hostile but realistic inputs, every one generated here at test time (no binary blobs): malformed .npy files,
 * out-of-range ids, NaN scores and boxes, corrupt and truncated stores, corrupt records, malicious pickles, zip
 * path traversal and bombs, decompression-bomb images, outputs that are inputs, missing/unwritable files, finished
 * and busy stores. Each case runs the CLI and asserts its exit code, that the message names the file, and that
 * every file that existed before (inputs and existing outputs) is unchanged and nothing was left half-written
 * (only the outputs a case allows may appear). The crash cases need a child JVM: {@link StoreTruncationTest}
 * (a store truncated under a running reader) and {@link ImportKillTest} (kill -9 during import).
 */
class HostileInputTest {
    @TempDir
    static Path tmp;

    static final MapFormat SMALL = new MapFormat(1000, 2, 4, 4, DType.FLOAT16, DType.UINT16);

    /** What a case sets up: the command line, the outputs it may create, and a check of its own afterwards. */
    record Scenario(String[] args, Set<String> mayCreate, Check after, AutoCloseable cleanup) {
        Scenario(String... args) {
            this(args, Set.of(), null, null);
        }

        Scenario creating(String... files) {
            return new Scenario(args, Set.of(files), after, cleanup);
        }

        Scenario then(Check c) {
            return new Scenario(args, mayCreate, c, cleanup);
        }

        Scenario closing(AutoCloseable c) {
            return new Scenario(args, mayCreate, after, c);
        }
    }

    @FunctionalInterface
    interface Setup {
        Scenario make(Path dir) throws Exception;
    }

    @FunctionalInterface
    interface Check {
        void verify(Path dir, String out, String err) throws Exception;
    }

    /** A case: its name, the exit code, the strings the message must hold (file names first), the setup. */
    record Case(String name, int code, List<String> mention, Setup setup) {}

    static Case exits(String name, int code, List<String> mention, Setup setup) {
        return new Case(name, code, mention, setup);
    }

    @TestFactory
    Stream<DynamicTest> hostileInputs() {
        List<Case> cases = new ArrayList<>();
        npyCases(cases);
        storeCases(cases);
        importCases(cases);
        otherCases(cases);
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> run(c)));
    }

    // ---- .npy inputs: pool and compress

    /** Valid pool inputs (2 crops of k=2 4x4 maps, 10 classes) and the output of an earlier run. */
    static Path poolInputs(Path dir) throws IOException {
        Files.createDirectories(dir);
        float[] s = new float[2 * 2 * 16];
        int[] ids = new int[2 * 2 * 16];
        for (int i = 0; i < s.length; ++i) {
            s[i] = i % 32 < 16 ? 3f : 1f;
            ids[i] = i % 32 < 16 ? 1 : 2;
        }
        Npy.write(dir.resolve("scores.npy"), NdArray.of(s, 2, 2, 4, 4));
        Npy.write(dir.resolve("indices.npy"), NdArray.of(ids, 2, 2, 4, 4));
        Npy.write(dir.resolve("boxes.npy"), NdArray.of(new float[] {0, 0, 1, 1, 0.1f, 0.2f, 0.6f, 0.9f}, 2, 4));
        Npy.write(dir.resolve("out.npy"), NdArray.of(new float[] {42f}, 1));  // an existing output
        return dir;
    }

    static String[] pool(Path dir, String scores, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("pool", "--scores", dir.resolve(scores).toString(), "--indices",
                dir.resolve("indices.npy").toString(), "--boxes", dir.resolve("boxes.npy").toString(), "--classes", "10",
                "--out", dir.resolve(out).toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** A .npy file with the given header dict and data bytes (version 1.0). */
    static void rawNpy(Path file, String dict, byte[] data) throws IOException {
        String header = dict + " ".repeat((64 - (10 + dict.length() + 1) % 64) % 64) + "\n";
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.write(header.length() & 0xff);
        b.write(header.length() >> 8);
        b.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(data);
        Files.write(file, b.toByteArray());
    }

    static void npyCases(List<Case> cases) {
        cases.add(exits("pool: not a .npy file", 2, List.of("scores.npy", "bad magic"), d -> {
            poolInputs(d);
            Files.write(d.resolve("scores.npy"), "this is not numpy".getBytes(StandardCharsets.US_ASCII));
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy header cut short", 2, List.of("scores.npy", "truncated header"), d -> {
            poolInputs(d);
            byte[] b = Files.readAllBytes(d.resolve("scores.npy"));
            Files.write(d.resolve("scores.npy"), java.util.Arrays.copyOf(b, 40));
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy header without a shape", 2, List.of("scores.npy", "malformed header"), d -> {
            poolInputs(d);
            rawNpy(d.resolve("scores.npy"), "{'descr': '<f4', 'fortran_order': False, }", new byte[16]);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy negative shape", 2, List.of("scores.npy", "invalid shape"), d -> {
            poolInputs(d);
            rawNpy(d.resolve("scores.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2, 4, 4), }",
                    new byte[16]);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy big-endian", 2, List.of("scores.npy", "big-endian"), d -> {
            poolInputs(d);
            rawNpy(d.resolve("scores.npy"), "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2, 4, 4), }",
                    new byte[256]);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy Fortran order", 2, List.of("scores.npy", "Fortran"), d -> {
            poolInputs(d);
            rawNpy(d.resolve("scores.npy"), "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 4, 4), }",
                    new byte[256]);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: .npy data cut short", 2, List.of("scores.npy", "truncated data"), d -> {
            poolInputs(d);
            rawNpy(d.resolve("scores.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 4, 4), }",
                    new byte[100]);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: shapes disagree", 2, List.of("scores.npy"), d -> {
            poolInputs(d);
            Npy.write(d.resolve("scores.npy"), NdArray.zeros(DType.FLOAT32, 3, 2, 4, 4));
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: class id out of range", 2, List.of("indices.npy", "class id 1000"), d -> {
            poolInputs(d);
            NdArray ids = Npy.read(d.resolve("indices.npy"));
            ids.setLong(5, 1000);
            Npy.write(d.resolve("indices.npy"), ids);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: NaN box", 2, List.of("boxes.npy", "not finite"), d -> {
            poolInputs(d);
            NdArray b = Npy.read(d.resolve("boxes.npy"));
            b.setFloat(6, Float.NaN);
            Npy.write(d.resolve("boxes.npy"), b);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: NaN score", 2, List.of("scores.npy", "not finite", "[1, 0, 2, 3]", "NaN"), d -> {
            poolInputs(d);
            NdArray s = Npy.read(d.resolve("scores.npy"));
            s.setFloat(32 + 11, Float.NaN);
            Npy.write(d.resolve("scores.npy"), s);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: infinite fp16 score", 2, List.of("scores.npy", "Infinity"), d -> {
            poolInputs(d);
            NdArray s = Npy.read(d.resolve("scores.npy")).astype(DType.FLOAT16);
            s.setFloat(0, Float.POSITIVE_INFINITY);
            Npy.write(d.resolve("scores.npy"), s);
            return new Scenario(pool(d, "scores.npy", "out.npy"));
        }));
        cases.add(exits("pool: --out is --scores", 2, List.of("scores.npy", "same file", "--scores"), d ->
                new Scenario(pool(poolInputs(d), "scores.npy", "scores.npy"))));
        cases.add(exits("pool: --out is a symbolic link to --boxes", 2, List.of("boxes.npy", "same file"), d -> {
            poolInputs(d);
            Files.createSymbolicLink(d.resolve("link.npy"), d.resolve("boxes.npy"));
            return new Scenario(pool(d, "scores.npy", "link.npy"));
        }));
        cases.add(exits("pool: --out is a hard link to --indices", 2, List.of("indices.npy", "same file"), d -> {
            poolInputs(d);
            Files.createLink(d.resolve("hard.npy"), d.resolve("indices.npy"));
            return new Scenario(pool(d, "scores.npy", "hard.npy"));
        }));
        cases.add(exits("pool: --check is --out", 2, List.of("out.npy", "same file", "--check"), d ->
                new Scenario(pool(poolInputs(d), "scores.npy", "out.npy", "--check", d.resolve("out.npy").toString()))));
        cases.add(exits("pool: missing input", 2, List.of("nonexist.npy", "no such file"), d ->
                new Scenario(pool(poolInputs(d), "nonexist.npy", "out.npy"))));
        cases.add(exits("pool: directory as input", 2, List.of("adir", "is a directory"), d -> {
            Files.createDirectories(poolInputs(d).resolve("adir"));
            return new Scenario(pool(d, "adir", "out.npy"));
        }));
        cases.add(exits("pool: output under a file", 2, List.of("blocker", "cannot write", "not a directory"), d -> {
            Files.writeString(poolInputs(d).resolve("blocker"), "a file, not a directory");
            return new Scenario(pool(d, "scores.npy", "blocker/out.npy"));
        }));
        cases.add(exits("pool: the output is a directory", 2, List.of("outdir", "is a directory"), d -> {
            Files.createDirectories(poolInputs(d).resolve("outdir"));
            return new Scenario(pool(d, "scores.npy", "outdir"));
        }));
        cases.add(exits("pool: valid inputs replace the output", 0, List.of("out.npy"), d ->
                new Scenario(pool(poolInputs(d), "scores.npy", "out.npy")).then((dir, out, err) -> {
                    assertEquals(10, Npy.read(dir.resolve("out.npy")).shape(1));
                }).creating("out.npy")));
        cases.add(exits("compress: --out-scores and --out-indices the same", 2, List.of("X.npy", "same file"), d -> {
            Npy.write(Files.createDirectories(d).resolve("dense.npy"), NdArray.zeros(DType.FLOAT32, 1, 8, 2, 2));
            return new Scenario("compress", "--dense", d.resolve("dense.npy").toString(), "--k", "2", "--out-scores",
                    d.resolve("X.npy").toString(), "--out-indices", d.resolve("X.npy").toString());
        }));
        cases.add(exits("compress: --out-scores is --dense", 2, List.of("dense.npy", "same file"), d -> {
            Npy.write(Files.createDirectories(d).resolve("dense.npy"), NdArray.zeros(DType.FLOAT32, 1, 8, 2, 2));
            return new Scenario("compress", "--dense", d.resolve("dense.npy").toString(), "--k", "2", "--out-scores",
                    d.resolve("dense.npy").toString(), "--out-indices", d.resolve("i.npy").toString());
        }));
        cases.add(exits("compress: NaN logit", 2, List.of("dense.npy", "NaN"), d -> {
            NdArray dense = NdArray.zeros(DType.FLOAT32, 1, 8, 2, 2);
            dense.setFloat(9, Float.NaN);
            Npy.write(Files.createDirectories(d).resolve("dense.npy"), dense);
            return new Scenario("compress", "--dense", d.resolve("dense.npy").toString(), "--k", "2", "--out-scores",
                    d.resolve("s.npy").toString(), "--out-indices", d.resolve("i.npy").toString());
        }));
    }

    // ---- label-map stores

    /** A finished store of {@code n} maps in {@link #SMALL} (keys k0, k1, ...). */
    static Path store(Path file, int n) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        int e = SMALL.k() * SMALL.height() * SMALL.width();
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(file, SMALL, Map.of())) {
            for (int i = 0; i < n; ++i) {
                float[] s = new float[e];
                int[] ids = new int[e];
                for (int j = 0; j < e; ++j) {
                    s[j] = j < e / 2 ? 5f - i * 0.1f : 1f;
                    ids[j] = j < e / 2 ? (7 * i) % 1000 : (7 * i + 1) % 1000;
                }
                w.append("k" + i, s, ids);
            }
            w.finish();
        }
        return file;
    }

    /** Header fields of a store file (docs/store-format.md). */
    static long u64(byte[] b, int at) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(at);
    }

    static void flip(Path file, long at) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[(int) at] ^= 0x5a;
        Files.write(file, b);
    }

    /**
     * Writes class id {@code id} into entry 0 of record {@code r} and, with {@code fixChecksums}, recomputes the
     * record's CRC, the CRC array's and the header's: a record that is corrupt although every checksum holds.
     */
    static void corruptClassId(Path file, int r, int id, boolean fixChecksums) throws IOException {
        corruptClassIds(file, r, id, 1, fixChecksums);
    }

    /** As {@link #corruptClassId}, for the first {@code entries} entries of the record. */
    static void corruptClassIds(Path file, int r, int id, int entries, boolean fixChecksums) throws IOException {
        byte[] b = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long count = u64(b, 40), recordSize = u64(b, 48), records = u64(b, 56), crcs = u64(b, 64);
        int at = (int) (records + r * recordSize + SMALL.layout().indicesOffset());
        for (int e = 0; e < entries; ++e) bb.putShort(at + 2 * e, (short) id);
        if (fixChecksums) {
            CRC32C c = new CRC32C();
            c.update(b, (int) (records + r * recordSize), (int) recordSize);
            bb.putInt((int) (crcs + 4L * r), (int) c.getValue());
            c.reset();
            c.update(b, (int) crcs, (int) (4 * count));
            bb.putInt(104, (int) c.getValue());
            c.reset();
            c.update(b, 0, 4092);
            bb.putInt(4092, (int) c.getValue());
        }
        Files.write(file, b);
    }

    static void storeCases(List<Case> cases) {
        cases.add(exits("inspect: not a store", 2, List.of("x.rlm", "not a ReLabel4J label-map store"), d -> {
            Files.write(Files.createDirectories(d).resolve("x.rlm"), new byte[8192]);
            return new Scenario("inspect", d.resolve("x.rlm").toString());
        }));
        cases.add(exits("inspect: empty file", 2, List.of("x.rlm", "truncated"), d -> {
            Files.write(Files.createDirectories(d).resolve("x.rlm"), new byte[0]);
            return new Scenario("inspect", d.resolve("x.rlm").toString());
        }));
        cases.add(exits("inspect: corrupt header", 2, List.of("a.rlm", "header checksum mismatch"), d -> {
            flip(store(d.resolve("a.rlm"), 4), 20);
            return new Scenario("inspect", d.resolve("a.rlm").toString());
        }));
        cases.add(exits("inspect: corrupt CRC array", 2, List.of("a.rlm", "CRC array checksum mismatch"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            flip(f, u64(Files.readAllBytes(f), 64) + 5);
            return new Scenario("inspect", f.toString());
        }));
        cases.add(exits("inspect: corrupt key index", 2, List.of("a.rlm", "key index checksum mismatch"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            flip(f, u64(Files.readAllBytes(f), 72) + 9);
            return new Scenario("inspect", f.toString());
        }));
        cases.add(exits("inspect: corrupt metadata", 2, List.of("a.rlm", "metadata checksum mismatch"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            flip(f, u64(Files.readAllBytes(f), 88) + 3);
            return new Scenario("inspect", f.toString());
        }));
        cases.add(exits("inspect: truncated store", 2, List.of("a.rlm", "does not fit in the file"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(4096 + 300);  // inside the records
            }
            return new Scenario("inspect", f.toString());
        }));
        cases.add(exits("inspect --verify: a damaged record", 2, List.of("a.rlm", "fail their checksum", "[2]"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            byte[] b = Files.readAllBytes(f);
            flip(f, u64(b, 56) + 2 * u64(b, 48) + 3);
            return new Scenario("inspect", "--verify", f.toString());
        }));
        cases.add(exits("inspect --key: a damaged record", 2, List.of("a.rlm", "record 2 ('k2')", "fails its checksum"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            corruptClassId(f, 2, 16970, false);
            return new Scenario("inspect", f.toString(), "--key", "k2");
        }));
        cases.add(exits("inspect --key: corrupt class id under valid checksums", 2,
                List.of("a.rlm", "record 1 ('k1') is corrupt", "class id 16970 is outside [0, 1000)"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            corruptClassId(f, 1, 16970, true);
            return new Scenario("inspect", f.toString(), "--key", "k1");
        }));
        cases.add(exits("show: corrupt class id under valid checksums", 2, List.of("a.rlm", "record 1 ('k1') is corrupt"),
                d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            corruptClassId(f, 1, 16970, true);
            Files.write(d.resolve("img.png"), TestImages.png(32, 24, TestImages.GRADIENT));
            return new Scenario("show", "--image", d.resolve("img.png").toString(), "--labelmaps", f.toString(), "--key",
                    "k1", "--out", d.resolve("fig.png").toString());
        }));
        cases.add(exits("data preview: corrupt class id under valid checksums", 2, List.of("a.rlm", "class id 16970"), d -> {
            Path images = d.resolve("ds");
            for (int i = 0; i < 3; ++i) {
                Files.createDirectories(images.resolve("c" + i));
                Files.write(images.resolve("c" + i + "/k" + i + ".png"), TestImages.png(32, 24, TestImages.GRADIENT));
            }
            Path f = d.resolve("a.rlm");
            int e = SMALL.k() * SMALL.height() * SMALL.width();
            MapFormat three = new MapFormat(3, 2, 4, 4, DType.FLOAT16, DType.UINT16);
            try (LabelMapStoreWriter w = LabelMapStoreWriter.create(f, three, Map.of())) {
                for (int i = 0; i < 3; ++i) {
                    float[] s = new float[e];
                    int[] ids = new int[e];
                    for (int j = 0; j < e; ++j) {
                        s[j] = j < e / 2 ? 2f : 1f;
                        ids[j] = j < e / 2 ? i : (i + 1) % 3;
                    }
                    w.append("c" + i + "/k" + i, s, ids);
                }
                w.finish();
            }
            corruptClassIds(f, 1, 16970, e, true);  // every cell: whatever the crop, it reads one
            return new Scenario("data", "preview", "--data", "imagefolder:" + images, "--labelmaps", f.toString(),
                    "--n", "3", "--size", "16", "--out", d.resolve("grid.png").toString());
        }));
        cases.add(exits("store convert: --out is --in", 2, List.of("a.rlm", "same file"), d -> {
            Path f = store(d.resolve("a.rlm"), 4);
            return new Scenario("store", "convert", "--in", f.toString(), "--out", f.toString(), "--overwrite",
                    "--score-dtype", "uint8");
        }));
        cases.add(exits("store convert: existing output without --overwrite", 2, List.of("b.rlm", "--overwrite"), d -> {
            store(d.resolve("b.rlm"), 2);
            return new Scenario("store", "convert", "--in", store(d.resolve("a.rlm"), 4).toString(), "--out",
                    d.resolve("b.rlm").toString());
        }));
        cases.add(exits("store merge: --out is a part", 2, List.of("a.rlm", "same file"), d -> {
            Path a = store(d.resolve("a.rlm"), 4);
            return new Scenario("store", "merge", "--overwrite", "--out", a.toString(), a.toString());
        }));
        cases.add(exits("store merge: a part is a directory", 2, List.of("parts", "is a directory"), d -> {
            Files.createDirectories(d.resolve("parts"));
            return new Scenario("store", "merge", "--out", d.resolve("m.rlm").toString(), d.resolve("parts").toString());
        }));
    }

    // ---- import of .pt trees

    /** A [2,k,H,W] map as torch.save writes it (float32), top class {@code c}. */
    static void goodPt(Path file, int c) throws IOException {
        Files.createDirectories(file.getParent());
        float[] v = new float[2 * 2 * 16];
        for (int i = 0; i < 32; ++i) {
            v[i] = i < 16 ? 4f : 2f;
            v[32 + i] = i < 16 ? c : c + 1;
        }
        TorchSaveWriter.write(file, NdArray.of(v, 2, 2, 4, 4));
    }

    /** src/ with three good maps; returns the tree. */
    static Path tree(Path dir) throws IOException {
        Path src = dir.resolve("src");
        goodPt(src.resolve("n01/a.pt"), 1);
        goodPt(src.resolve("n01/b.pt"), 2);
        goodPt(src.resolve("n02/c.pt"), 3);
        return src;
    }

    static String[] importTo(Path dir, String... more) {
        List<String> a = new ArrayList<>(List.of("import", "--src", dir.resolve("src").toString(), "--out",
                dir.resolve("out.rlm").toString(), "--classes", "10", "--threads", "1"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** A zip-format .pt whose pickle is {@code pickle} (no storages). */
    static void zipPt(Path file, byte[] pickle) throws IOException {
        Files.createDirectories(file.getParent());
        TorchFiles.writeZip(file, "archive", pickle, Map.of());
    }

    /** The store holds exactly these keys. */
    static Check holds(String... keys) {
        return (dir, out, err) -> {
            try (LabelMapStore s = LabelMapStore.open(dir.resolve("out.rlm"))) {
                List<String> have = new ArrayList<>();
                for (long r = 0; r < s.size(); ++r) have.add(s.key(r));
                assertEquals(List.of(keys), have);
            }
        };
    }

    static final Check NOTHING_WRITTEN = (dir, out, err) -> {
        assertFalse(Files.exists(dir.resolve("out.rlm")));
        assertFalse(Files.exists(dir.resolve("out.rlm.partial")));
    };

    static void hostilePt(List<Case> cases, String what, String reason, Setup write) {
        cases.add(exits("import: " + what + " is listed, the rest imported", 2, List.of("evil.pt", reason), d -> {
            tree(d);
            write.make(d);
            return new Scenario(importTo(d)).creating("out.rlm").then(holds("n01/a", "n01/b", "n02/c"));
        }));
        cases.add(exits("import --strict: " + what + " stops it, nothing written", 2, List.of("evil.pt", reason), d -> {
            tree(d);
            write.make(d);
            return new Scenario(importTo(d, "--strict")).then(NOTHING_WRITTEN);
        }));
    }

    static void importCases(List<Case> cases) {
        hostilePt(cases, "a pickle calling posix.system", "posix.system", d -> {
            zipPt(d.resolve("src/n01/evil.pt"), new TorchFiles.Pickle().proto(2).global("posix", "system")
                    .mark().str("touch " + d.resolve("pwned")).tuple().reduce().stop().bytes());
            return null;
        });
        hostilePt(cases, "a pickle calling builtins.eval", "builtins.eval", d -> {
            zipPt(d.resolve("src/n01/evil.pt"), new TorchFiles.Pickle().proto(2).global("builtins", "eval")
                    .mark().str("__import__('os').system('touch pwned')").tuple().reduce().stop().bytes());
            return null;
        });
        hostilePt(cases, "os.system as a storage type", "storage", d -> {
            TorchFiles.Pickle p = new TorchFiles.Pickle().proto(2);
            p.tensor(() -> p.mark().str("storage").global("os", "system").str("0").str("cpu").integer(64).tuple().op('Q'),
                    0, new long[] {2, 2, 4, 4}, new long[] {32, 16, 4, 1}).stop();
            Files.createDirectories(d.resolve("src/n01"));
            TorchFiles.writeZip(d.resolve("src/n01/evil.pt"), "archive", p.bytes(), Map.of("0", new byte[256]));
            return null;
        });
        hostilePt(cases, "a zip whose entries climb out of the archive", "evil.pt", d -> {
            Files.createDirectories(d.resolve("src/n01"));
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put("../../../../escaped/data.pkl", "not a pickle".getBytes(StandardCharsets.US_ASCII));
            entries.put("../../../../escaped/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            TorchFiles.writeEntries(d.resolve("src/n01/evil.pt"), entries);
            return null;
        });
        hostilePt(cases, "a zip bomb (deflated entries)", "compressed", d -> {
            Files.createDirectories(d.resolve("src/n01"));
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(d.resolve("src/n01/evil.pt")))) {
                zip.putNextEntry(new ZipEntry("archive/data.pkl"));
                zip.write(new TorchFiles.Pickle().proto(2).integer(1).stop().bytes());
                zip.closeEntry();
                zip.putNextEntry(new ZipEntry("archive/data/0"));
                byte[] zeros = new byte[1 << 20];
                for (int i = 0; i < 64; ++i) zip.write(zeros);  // 64 MiB of zeros in a few tens of KB
                zip.closeEntry();
            }
            return null;
        });
        hostilePt(cases, "a map with a NaN score", "score at (k=0, y=1, x=2) is NaN", d -> {
            float[] v = new float[64];
            for (int i = 0; i < 32; ++i) {
                v[i] = i < 16 ? 4f : 2f;
                v[32 + i] = i < 16 ? 1 : 2;
            }
            v[6] = Float.NaN;
            Files.createDirectories(d.resolve("src/n01"));
            TorchSaveWriter.write(d.resolve("src/n01/evil.pt"), NdArray.of(v, 2, 2, 4, 4));
            return null;
        });
        hostilePt(cases, "a map whose score overflows fp16", "overflows float16", d -> {
            float[] v = new float[64];
            for (int i = 0; i < 32; ++i) {
                v[i] = i < 16 ? 4f : 2f;
                v[32 + i] = i < 16 ? 1 : 2;
            }
            v[0] = 1e6f;
            Files.createDirectories(d.resolve("src/n01"));
            TorchSaveWriter.write(d.resolve("src/n01/evil.pt"), NdArray.of(v, 2, 2, 4, 4));
            return null;
        });
        cases.add(exits("import --resume after a NaN map: nothing left, the store is complete", 2,
                List.of("out.rlm", "is complete (3 records)", "nothing to resume"), d -> {
            tree(d);
            float[] v = new float[64];
            v[0] = Float.NaN;
            TorchSaveWriter.write(d.resolve("src/n01/evil.pt"), NdArray.of(v, 2, 2, 4, 4));
            assertEquals(2, relabel(importTo(d)).code());
            return new Scenario(importTo(d, "--resume"));
        }));
        cases.add(exits("import: a finished store is not replaced unasked", 2, List.of("out.rlm", "--overwrite"), d -> {
            tree(d);
            store(d.resolve("out.rlm"), 2);
            return new Scenario(importTo(d));
        }));
        cases.add(exits("import --overwrite replaces a finished store", 0, List.of("out.rlm"), d -> {
            tree(d);
            store(d.resolve("out.rlm"), 2);
            return new Scenario(importTo(d, "--overwrite")).creating("out.rlm").then(holds("n01/a", "n01/b", "n02/c"));
        }));
        cases.add(exits("import: a second writer of the same output", 2,
                List.of("out.rlm", "another writer is producing it", "out.rlm.partial", "--resume"), d -> {
            tree(d);
            LabelMapStoreWriter first = LabelMapStoreWriter.create(d.resolve("out.rlm"), SMALL, Map.of());
            first.flush();
            return new Scenario(importTo(d)).closing(first::abort);
        }));
        cases.add(exits("import --resume: a second writer of the same output", 2,
                List.of("out.rlm", "another writer is producing it"), d -> {
            tree(d);
            LabelMapStoreWriter first = LabelMapStoreWriter.create(d.resolve("out.rlm"), SMALL, Map.of());
            first.flush();
            return new Scenario(importTo(d, "--resume")).closing(first::abort);
        }));
        cases.add(exits("import --overwrite: the store is open in a reader", 2, List.of("out.rlm", "is open for reading"),
                d -> {
            tree(d);
            LabelMapStore reader = LabelMapStore.open(store(d.resolve("out.rlm"), 2));
            return new Scenario(importTo(d, "--overwrite")).closing(reader);
        }));
        cases.add(exits("import: --src is a file", 2, List.of("notadir", "is not a directory"), d -> {
            Files.writeString(Files.createDirectories(d).resolve("notadir"), "x");
            return new Scenario("import", "--src", d.resolve("notadir").toString(), "--out", d.resolve("o.rlm").toString());
        }));
    }

    // ---- images, annotate, eval

    static void otherCases(List<Case> cases) {
        cases.add(exits("show: a decompression-bomb image", 2, List.of("bomb.png", "too large"), d -> {
            Path f = store(d.resolve("a.rlm"), 2);
            byte[] png = TestImages.png(32, 24, TestImages.GRADIENT);
            ByteBuffer.wrap(png).order(ByteOrder.BIG_ENDIAN).putInt(16, 100_000).putInt(20, 100_000);
            Files.write(d.resolve("bomb.png"), png);
            return new Scenario("show", "--image", d.resolve("bomb.png").toString(), "--labelmaps", f.toString(),
                    "--key", "k0", "--out", d.resolve("fig.png").toString());
        }));
        cases.add(exits("data check: a decompression-bomb image among good ones", 2, List.of("bomb.png", "too large"), d -> {
            Path ds = d.resolve("ds");
            for (int i = 0; i < 3; ++i) {
                Files.createDirectories(ds.resolve("c" + i));
                Files.write(ds.resolve("c" + i + "/k" + i + ".png"), TestImages.png(32, 24, TestImages.GRADIENT));
            }
            byte[] png = TestImages.png(32, 24, TestImages.GRADIENT);
            ByteBuffer.wrap(png).order(ByteOrder.BIG_ENDIAN).putInt(16, 100_000).putInt(20, 100_000);
            Files.write(ds.resolve("c0/bomb.png"), png);
            return new Scenario("data", "check", "--data", "imagefolder:" + ds);
        }));
        cases.add(exits("show: --out is --image", 2, List.of("img.png", "same file"), d -> {
            Path f = store(d.resolve("a.rlm"), 2);
            Files.write(d.resolve("img.png"), TestImages.png(32, 24, TestImages.GRADIENT));
            return new Scenario("show", "--image", d.resolve("img.png").toString(), "--labelmaps", f.toString(),
                    "--key", "k0", "--out", d.resolve("img.png").toString());
        }));
        cases.add(exits("annotate: --out is --checkpoint", 2, List.of("teacher.pth", "same file"), d -> {
            Files.write(Files.createDirectories(d).resolve("teacher.pth"), new byte[64]);
            return new Scenario("annotate", "--data", "imagefolder:" + d, "--model", "resnet18", "--checkpoint",
                    d.resolve("teacher.pth").toString(), "--out", d.resolve("teacher.pth").toString(), "--overwrite");
        }));
        cases.add(exits("annotate: a finished store needs --overwrite", 2, List.of("out.rlm", "--overwrite"), d -> {
            store(d.resolve("out.rlm"), 2);
            return new Scenario("annotate", "--data", "imagefolder:" + d, "--model", "resnet18", "--out",
                    d.resolve("out.rlm").toString());
        }));
        cases.add(exits("eval: --out is --real", 2, List.of("real.json", "same file"), d -> {
            Files.writeString(Files.createDirectories(d).resolve("real.json"), "[]");
            return new Scenario("eval", "--data", "imagefolder:" + d, "--model", "resnet18", "--real",
                    d.resolve("real.json").toString(), "--out", d.resolve("real.json").toString());
        }));
        cases.add(exits("eval: missing --checkpoint", 2, List.of("gone.pth", "no such file"), d -> {
            Files.createDirectories(d);
            return new Scenario("eval", "--data", "imagefolder:" + d, "--model", "resnet18", "--checkpoint",
                    d.resolve("gone.pth").toString());
        }));
    }

    // ---- the harness

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static void run(Case c) throws Exception {
        Path dir = tmp.resolve(c.name().replaceAll("[^A-Za-z0-9]+", "_"));
        Files.createDirectories(dir);
        Scenario s = c.setup().make(dir);
        Map<String, String> before = snapshot(dir);
        Run r;
        Map<String, String> after;
        try {
            r = relabel(s.args());
            after = snapshot(dir);
        } finally {
            if (s.cleanup() != null) s.cleanup().close();
        }
        String all = r.out() + r.err();
        System.out.println("hostile input: " + c.name() + " -> exit " + r.code() + ": "
                + (r.err().isBlank() ? r.out() : r.err()).strip().replace(tmp.toString(), "$TMP"));
        assertEquals(c.code(), r.code(), c.name() + ": " + all);
        if (c.code() != 0) assertFalse(r.err().contains("Exception"), "a stack trace instead of a message: " + r.err());
        for (String m : c.mention()) assertTrue(all.contains(m), c.name() + ": the message lacks '" + m + "': " + all);
        assertFalse(Files.exists(dir.resolve("pwned")), "a pickle ran code");
        assertFalse(Files.exists(tmp.resolve("escaped")) || Files.exists(dir.getParent().getParent().resolve("escaped")),
                "a zip entry was written outside");
        for (Map.Entry<String, String> e : before.entrySet()) {
            if (s.mayCreate().contains(e.getKey())) continue;
            assertEquals(e.getValue(), after.get(e.getKey()), c.name() + ": " + e.getKey() + " changed or vanished");
        }
        for (String f : after.keySet()) {
            if (!before.containsKey(f) && !s.mayCreate().contains(f))
                fail(c.name() + ": left " + f + " behind (outputs allowed: " + s.mayCreate() + "): " + all);
        }
        if (s.after() != null) s.after().verify(dir, r.out(), r.err());
    }

    /** Every file below dir (relative path, '/'-separated) and the SHA-256 of its bytes. */
    static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) continue;
                try {
                    m.put(dir.relativize(p).toString().replace('\\', '/'),
                            HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return m;
    }
}
