package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.testing.Close.assertClose;
import static org.relabel4j.testing.Close.maxAbs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.testing.Fixtures;

/** The CLI end to end: .npy in, .npy out, against every fixture; exit codes and messages for bad input. */
class CliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    static Run relabel(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static String[] poolArgs(Path dir, int classes, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("pool", "--scores", dir.resolve("scores.npy").toString(), "--indices",
                dir.resolve("indices.npy").toString(), "--boxes", dir.resolve("boxes_xyxy.npy").toString(), "--classes",
                String.valueOf(classes), "--out", out.toString(), "--threads", "2"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> poolEveryFixture() {
        Fixtures.assumePresent();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : Fixtures.cases("labelpool")) {
            NdArray pooled = Fixtures.load(dir, "pooled_1x1.npy");
            int classes = (int) pooled.shape(1);
            double atol = 1e-5 * maxAbs(pooled);
            String name = dir.getFileName().toString();
            List<String[]> variants = new ArrayList<>();
            variants.add(new String[] {"pooled_1x1.npy"});
            variants.add(new String[] {"targets_softmax.npy", "--softmax"});
            variants.add(new String[] {"targets_probs.npy", "--mode", "probs"});
            if (Files.exists(dir.resolve("pooled_official.npy"))) {
                variants.add(new String[] {"pooled_official.npy", "--box-order", "official"});
                variants.add(new String[] {"targets_official.npy", "--box-order", "official", "--softmax"});
            }
            for (int s = 2; s <= 16; ++s) {
                if (Files.exists(dir.resolve("pooled_" + s + "x" + s + ".npy"))) {
                    variants.add(new String[] {"pooled_" + s + "x" + s + ".npy", "--size", String.valueOf(s)});
                    variants.add(new String[] {"pooled_" + s + "x" + s + "_hflip.npy", "--size", String.valueOf(s), "--flips", "ALL"});
                }
            }
            for (String[] v : variants) {
                tests.add(DynamicTest.dynamicTest(name + " -> " + v[0], () -> {
                    String[] extra = Arrays.copyOfRange(v, 1, v.length);
                    for (int k = 0; k < extra.length; ++k) {
                        if (extra[k].equals("ALL")) extra[k] = allFlips(pooled.shape(0)).toString();
                    }
                    Path out = tmp.resolve(name + "-" + v[0]);
                    Run r = relabel(poolArgs(dir, classes, out, extra));
                    assertEquals(0, r.code(), r.err());
                    assertTrue(r.out().startsWith("pooled " + pooled.shape(0) + " crops"), r.out());
                    NdArray want = Fixtures.load(dir, v[0]);
                    boolean targets = v[0].startsWith("targets");
                    assertClose(name + " " + v[0], want, Npy.read(out), 1e-5, targets ? 1e-7 : atol);
                    // --check against the same golden passes, and exits 0.
                    Run checked = relabel(poolArgs(dir, classes, tmp.resolve("c.npy"), concat(extra, "--check",
                            dir.resolve(v[0]).toString())));
                    assertEquals(0, checked.code(), checked.out() + checked.err());
                    assertTrue(checked.out().contains("check: matches"), checked.out());
                }));
            }
        }
        return tests.stream();
    }

    private Path allFlips(long batch) throws IOException {
        Path f = tmp.resolve("flips-" + batch + ".npy");
        boolean[] all = new boolean[(int) batch];
        Arrays.fill(all, true);
        Npy.write(f, NdArray.of(all));
        return f;
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void checkFailureExitsThree() {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("labelpool/imagenet_k5_15x15");
        Run r = relabel(poolArgs(dir, 1000, tmp.resolve("x.npy"), "--check", dir.resolve("pooled_official.npy").toString()));
        assertEquals(RelabelCli.EXIT_CHECK_FAILED, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("values differ from"), r.out());
    }

    @TestFactory
    Stream<DynamicTest> compressEveryFixture() {
        Fixtures.assumePresent();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : Fixtures.cases("topk")) {
            NdArray ids = Fixtures.load(dir, "topk_indices.npy");
            String k = String.valueOf(ids.shape(1));
            for (String dtype : new String[] {"fp16", "fp32"}) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + " " + dtype, () -> {
                    Path s = tmp.resolve(dtype + "-s.npy"), i = tmp.resolve(dtype + "-i.npy");
                    Run r = relabel("compress", "--dense", dir.resolve("dense.npy").toString(), "--k", k,
                            "--score-dtype", dtype, "--out-scores", s.toString(), "--out-indices", i.toString());
                    assertEquals(0, r.code(), r.err());
                    NdArray want = Fixtures.load(dir, dtype.equals("fp16") ? "topk_scores_fp16.npy" : "topk_scores.npy");
                    NdArray gotScores = Npy.read(s), gotIds = Npy.read(i);
                    assertEquals(want.dtype(), gotScores.dtype());
                    assertEquals(want.buffer(), gotScores.buffer());
                    assertEquals(DType.UINT16, gotIds.dtype());
                    assertArrayEquals(ids.toLongArray(), gotIds.toLongArray());
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void compressThenPoolRoundTrip() throws IOException {
        // Dense logits -> label maps (CLI) -> pooled targets (CLI) == pooling the dense map directly.
        float[] dense = new float[2 * 30 * 4 * 6];
        java.util.Random rnd = new java.util.Random(1);
        for (int i = 0; i < dense.length; ++i) dense[i] = (float) rnd.nextGaussian() * 3 + 2;
        Npy.write(tmp.resolve("dense.npy"), NdArray.of(dense, 2, 30, 4, 6));
        Npy.write(tmp.resolve("boxes_xyxy.npy"), NdArray.of(new float[] {0, 0, 1, 1, 0.2f, 0.1f, 0.7f, 0.9f}, 2, 4));
        Run c = relabel("compress", "--dense", tmp.resolve("dense.npy").toString(), "--k", "30", "--score-dtype", "fp32",
                "--out-scores", tmp.resolve("scores.npy").toString(), "--out-indices", tmp.resolve("indices.npy").toString());
        assertEquals(0, c.code(), c.err());
        Run p = relabel(poolArgs(tmp, 30, tmp.resolve("pooled.npy")));
        assertEquals(0, p.code(), p.err());
        // With k = C the sparse map is the dense map: pooled = plain RoIAlign of the dense logits.
        NdArray got = Npy.read(tmp.resolve("pooled.npy"));
        float[] want = new float[2 * 30];
        float[][] boxes = {{0, 0, 1, 1}, {0.2f, 0.1f, 0.7f, 0.9f}};
        for (int b = 0; b < 2; ++b) {
            float[] map = Arrays.copyOfRange(dense, b * 30 * 24, (b + 1) * 30 * 24);
            float[] r = org.relabel4j.testing.ReferenceLabelPooling.roiAlign(map, 30, 4, 6, boxes[b][0] * 6 - 0.5f,
                    boxes[b][1] * 4 - 0.5f, boxes[b][2] * 6 - 0.5f, boxes[b][3] * 4 - 0.5f, 1);
            System.arraycopy(r, 0, want, b * 30, 30);
        }
        assertClose("compress+pool", want, got.toFloatArray(), 1e-5, 1e-5);
    }

    @Test
    void badInputExitsTwoNamingTheProblem() throws IOException {
        Fixtures.assumePresent();
        Path dir = Fixtures.root().resolve("labelpool/imagenet_k5_15x15");
        Run missing = relabel("pool", "--scores", tmp.resolve("nope.npy").toString(), "--indices", "x", "--boxes", "y",
                "--out", tmp.resolve("o.npy").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, missing.code());
        assertTrue(missing.err().contains("relabel pool: error:") && missing.err().contains("nope.npy"), missing.err());

        Run classes = relabel(poolArgs(dir, 10, tmp.resolve("o.npy")));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, classes.code());
        assertTrue(classes.err().contains("class id") && classes.err().contains("outside [0, 10)"), classes.err());
        assertFalse(Files.exists(tmp.resolve("o.npy")), "no output written on error");

        Run mode = relabel(poolArgs(dir, 1000, tmp.resolve("o.npy"), "--mode", "maximum"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, mode.code());
        assertTrue(mode.err().contains("--mode must be logits or probs, got 'maximum'"), mode.err());

        Run order = relabel(poolArgs(dir, 1000, tmp.resolve("o.npy"), "--box-order", "yx"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, order.code());
        assertTrue(order.err().contains("--box-order must be correct or official, got 'yx'"), order.err());

        Run size = relabel(poolArgs(dir, 1000, tmp.resolve("o.npy"), "--size", "0"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, size.code());
        assertTrue(size.err().contains("outputSize must be in [1, 256], got 0"), size.err());

        Run device = relabel(poolArgs(dir, 1000, tmp.resolve("o.npy"), "--device", "tpu"));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, device.code());
        assertTrue(device.err().contains("--device must be cpu, cuda or cuda:N, got 'tpu'"), device.err());

        Npy.write(tmp.resolve("boxes_xyxy.npy"), NdArray.of(new float[] {0, 0, Float.NaN, 1}, 1, 4));
        Files.copy(dir.resolve("scores.npy"), tmp.resolve("scores.npy"));
        Files.copy(dir.resolve("indices.npy"), tmp.resolve("indices.npy"));
        Run box = relabel(poolArgs(tmp, 1000, tmp.resolve("o.npy")));
        assertEquals(RelabelCli.EXIT_BAD_INPUT, box.code());
        assertTrue(box.err().contains("boxes: dimension 0 is 1, expected 64 (batch size)"), box.err());

        Files.write(tmp.resolve("junk.npy"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        Run junk = relabel("compress", "--dense", tmp.resolve("junk.npy").toString(), "--out-scores",
                tmp.resolve("s.npy").toString(), "--out-indices", tmp.resolve("i.npy").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, junk.code());
        assertTrue(junk.err().contains("junk.npy: not a .npy file"), junk.err());

        Path topk = Fixtures.root().resolve("topk/c37_k3_6x9/dense.npy");
        Run scoreType = relabel("compress", "--dense", topk.toString(), "--score-dtype", "int8", "--out-scores",
                tmp.resolve("s.npy").toString(), "--out-indices", tmp.resolve("i.npy").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, scoreType.code());
        assertTrue(scoreType.err().contains("--score-dtype must be fp16 or fp32, got 'int8'"), scoreType.err());
        Run indexType = relabel("compress", "--dense", topk.toString(), "--index-dtype", "int64", "--out-scores",
                tmp.resolve("s.npy").toString(), "--out-indices", tmp.resolve("i.npy").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, indexType.code());
        assertTrue(indexType.err().contains("--index-dtype must be auto, uint16 or int32, got 'int64'"), indexType.err());
        Run bigK = relabel("compress", "--dense", topk.toString(), "--k", "38", "--out-scores",
                tmp.resolve("s.npy").toString(), "--out-indices", tmp.resolve("i.npy").toString());
        assertEquals(RelabelCli.EXIT_BAD_INPUT, bigK.code());
        assertTrue(bigK.err().contains("dense.npy: dense: k (38) must be <= classes (37)"), bigK.err());
        assertFalse(Files.exists(tmp.resolve("s.npy")), "no output written on error");

        Run usage = relabel("pool", "--scores");
        assertEquals(RelabelCli.EXIT_BAD_INPUT, usage.code());
    }

    @Test
    void doctorReportsTheInstallation() throws IOException {
        Run text = relabel("doctor");
        assertEquals(0, text.code(), text.err());
        for (String key : new String[] {"native library:", "native version:", "cuda kernels:", "cuda devices:", "libtorch:",
                "cpu threads:"}) {
            assertTrue(text.out().contains(key), "doctor prints " + key + ":\n" + text.out());
        }
        Run json = relabel("doctor", "--json");
        assertEquals(0, json.code(), json.err());
        JsonNode node = new ObjectMapper().readTree(json.out());
        assertTrue(node.get("native library").asText().endsWith("librelabel.so"), json.out());
        assertTrue(node.get("native version").asText().contains("ABI 2"), json.out());
        assertTrue(node.get("libtorch").asText().contains("2.10.0"), json.out());
    }
}
