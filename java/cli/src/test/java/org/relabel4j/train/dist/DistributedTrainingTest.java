package org.relabel4j.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.cli.RelabelCli;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.TrainData;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;

/**
 * Data-parallel training on PyTorch's c10d, Gloo over 127.0.0.1: {@code relabel launch} (run in this JVM) starts
 * the ranks as child JVMs. The small CNN is trained without batch norm here ({@code model.norm=none}): with it, each
 * rank normalizes with the statistics of its own half batch, so 2 ranks x b and 1 rank x 2b compute different
 * gradients by design (PyTorch DDP's per-rank BN); without it they compute the same step up to float rounding.
 * Every child is killed after each test, whatever happened.
 */
class DistributedTrainingTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    @AfterEach
    void killChildren() {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** {@code relabel train} on the generated images: 96 training images, global batch 16, one LibTorch thread. */
    static List<String> train(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--preset", "tiny", "--train",
                "imagefolder:" + data.resolve("train"), "--val", "", "--set", "model.width=8", "--set",
                "data.image_size=24", "--set", "model.norm=none", "--set", "compute.threads=1", "--set",
                "util.print_freq=1", "--batch-size", "16", "--workers", "1", "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    static Run relabel(List<String> args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = RelabelCli.execute(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    /** {@code relabel launch --nproc-per-node 2 -- <command>}, failing the test if it takes longer than 80 s. */
    static Run launch(List<String> command, String... launchOptions) throws Exception {
        List<String> args = new ArrayList<>(List.of("launch", "--nproc-per-node", "2", "--master-port",
                Integer.toString(freePort())));
        args.addAll(List.of(launchOptions));
        args.add("--");
        args.addAll(command);
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            return ex.submit(() -> relabel(args)).get(80, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("relabel launch did not end within 80 s: " + args);
            return null;
        } finally {
            ex.shutdownNow();
        }
    }

    static List<JsonNode> records(Path run, String kind) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("kind").asText().equals(kind)) out.add(n);
        }
        return out;
    }

    /** The largest absolute difference between two runs' weights (model.pth). */
    static double maxWeightDifference(Path a, Path b) throws IOException {
        double worst = 0;
        try (Classifier x = Models.load("small-cnn", a.resolve("model.pth"), 3);
             Classifier y = Models.load("small-cnn", b.resolve("model.pth"), 3)) {
            Map<String, org.bytedeco.pytorch.Tensor> sx = x.stateDict(), sy = y.stateDict();
            assertEquals(sx.keySet(), sy.keySet());
            assertFalse(sx.keySet().stream().anyMatch(k -> k.startsWith("bn")), "no batch norm: " + sx.keySet());
            for (String k : sx.keySet()) worst = Math.max(worst, sx.get(k).sub(sy.get(k)).abs().max().item_double());
        }
        return worst;
    }

    @Test
    void twoRanksOfBatch8TrainTheWeightsOfOneRankOfBatch16() throws Exception {
        long t0 = System.nanoTime();
        Path single = tmp.resolve("single"), overlapped = tmp.resolve("overlapped"), after = tmp.resolve("after");
        Run r = relabel(train(single, "--epochs", "2"));
        assertEquals(0, r.code(), r.out() + r.err());

        // The c10d Reducer (buckets all-reduced during backward), with buckets small enough that there are several.
        r = launch(train(overlapped, "--epochs", "2", "--bucket-mb", "0.01"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("distributed: gloo, rank 0 of 2") && r.out().contains("(rank 0 of 2)"), r.out());
        assertTrue(r.out().contains("trained 2 epoch(s), 12 steps"), "rank 0 reports the run: " + r.out());
        assertFalse(r.out().contains("[rank 1] trained"), "rank 1 prints warnings only: " + r.out());

        // Buckets all-reduced after the backward pass, timed.
        r = launch(train(after, "--epochs", "2", "--no-overlap", "--bucket-mb", "0.01"));
        assertEquals(0, r.code(), r.out() + r.err());

        double overlapDiff = maxWeightDifference(single, overlapped), afterDiff = maxWeightDifference(single, after);
        assertTrue(overlapDiff < 1e-5, "2 ranks x 8 (c10d Reducer) vs 1 rank x 16: max |w1 - w2| = " + overlapDiff);
        assertTrue(afterDiff < 1e-5, "2 ranks x 8 (bucketed after backward) vs 1 rank x 16: " + afterDiff);
        // The metrics are the whole job's: the same losses, all 96 images per epoch.
        List<JsonNode> s1 = records(single, "step"), s2 = records(overlapped, "step"), s3 = records(after, "step");
        assertEquals(12, s2.size());
        for (int i = 0; i < s1.size(); ++i) {
            assertEquals(s1.get(i).get("loss").asDouble(), s2.get(i).get("loss").asDouble(), 1e-5, "step " + i);
            assertEquals(s1.get(i).get("top1").asDouble(), s2.get(i).get("top1").asDouble(), 1e-9, "step " + i);
            assertTrue(s3.get(i).get("allreduce_ms").asDouble() >= 0, s3.get(i).toString());
        }
        for (JsonNode e : records(overlapped, "epoch")) assertEquals(96, e.get("images").asInt());
        System.out.printf("2 ranks vs 1: max weight difference %.2g (overlapped), %.2g (after backward); %.1f s%n",
                overlapDiff, afterDiff, (System.nanoTime() - t0) / 1e9);
    }

    @Test
    void aKilledRankEndsTheJobWithAnError() throws Exception {
        Path run = tmp.resolve("run");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            List<String> args = new ArrayList<>(List.of("launch", "--nproc-per-node", "2", "--master-port",
                    Integer.toString(freePort()), "--grace", "5", "--"));
            args.addAll(train(run, "--epochs", "500"));
            Future<Run> job = ex.submit(() -> relabel(args));
            awaitSteps(run, job, 3);
            ProcessHandle rank1 = rank(1);
            long killed = System.nanoTime();
            rank1.destroyForcibly();  // SIGKILL: no goodbye to the others
            Run r = job.get(60, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - killed) / 1e9;
            assertNotEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("launch: rank "), r.err());
            assertTrue(r.err().contains("rank 0 of 2 stopped at step") && r.err().contains("another rank has probably died"),
                    "the survivor says why it stops: " + r.err());
            assertTrue(seconds < 30, "the job ended " + seconds + " s after the kill");
            assertEquals(0, ProcessHandle.current().descendants().count(), "no rank is left running");
            System.out.printf("killed rank 1: the job ended %.1f s later%n", seconds);
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void aHungRankEndsTheJobAfterTheTimeout() throws Exception {
        Path run = tmp.resolve("run");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            List<String> args = new ArrayList<>(List.of("launch", "--nproc-per-node", "2", "--master-port",
                    Integer.toString(freePort()), "--grace", "2", "--"));
            args.addAll(train(run, "--epochs", "500", "--dist-timeout", "5"));
            Future<Run> job = ex.submit(() -> relabel(args));
            awaitSteps(run, job, 3);
            ProcessHandle rank1 = rank(1);
            long stopped = System.nanoTime();
            assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(rank1.pid())).start().waitFor());
            Run r = job.get(60, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - stopped) / 1e9;
            assertNotEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("rank 0 of 2 stopped at step") && r.err().contains("Timed out"),
                    "the survivor names the timeout: " + r.err());
            assertTrue(seconds >= 4 && seconds < 30, "the job ended " + seconds + " s after rank 1 hung (timeout 5 s)");
            assertFalse(rank1.isAlive(), "the hung rank was killed");
            System.out.printf("stopped rank 1: the job ended %.1f s later%n", seconds);
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void theLauncherPassesSigtermToItsRanks() throws Exception {
        Path run = tmp.resolve("run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), RelabelCli.class.getName(), "launch",
                "--nproc-per-node", "2", "--master-port", Integer.toString(freePort()), "--grace", "2", "--"));
        cmd.addAll(train(run, "--epochs", "500"));
        Process launcher = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("launch.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (stepsLogged(run) < 3) {
                if (!launcher.isAlive()) fail("launch ended early: " + Files.readString(tmp.resolve("launch.log")));
                if (System.nanoTime() > deadline) fail("no training steps within 60 s");
                Thread.sleep(100);
            }
            List<ProcessHandle> ranks = launcher.descendants().toList();
            assertEquals(2, ranks.size(), ranks.toString());
            launcher.destroy();  // SIGTERM
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher ends within 30 s of SIGTERM");
            for (ProcessHandle p : ranks) assertFalse(p.isAlive(), "rank process " + p.pid() + " was stopped");
        } finally {
            launcher.destroyForcibly();
        }
    }

    static void awaitSteps(Path run, Future<Run> job, int steps) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (stepsLogged(run) < steps) {
            if (job.isDone()) fail("the job ended early: " + job.get());
            if (System.nanoTime() > deadline) fail("no training steps within 60 s");
            Thread.sleep(100);
        }
    }

    static int stepsLogged(Path run) throws IOException {
        Path m = run.resolve("metrics.jsonl");
        if (!Files.exists(m)) return 0;
        return (int) Files.readAllLines(m).stream().filter(l -> l.contains("\"step\",")).count();
    }

    /** This JVM's child running rank {@code rank} (from its environment in /proc). */
    static ProcessHandle rank(int rank) throws IOException {
        for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
            Path environ = Path.of("/proc", Long.toString(p.pid()), "environ");
            if (!Files.isReadable(environ)) continue;
            String env = new String(Files.readAllBytes(environ), StandardCharsets.UTF_8);
            if (Arrays.asList(env.split("\0")).contains("RANK=" + rank)) return p;
        }
        throw new AssertionError("no child process with RANK=" + rank);
    }

    @Test
    void aRunResumesWithTheSameWorldSizeOnly() throws Exception {
        // With batch norm: per-rank statistics, rank 0's running statistics before each checkpoint.
        Path run = tmp.resolve("run");
        Run r = launch(train(run, "--epochs", "2", "--max-steps", "3", "--set", "model.norm=batch"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("stopped after 0 epoch(s), 3 steps"), r.out());

        Run alone = relabel(List.of("train", "--resume", run.toString()));
        assertEquals(2, alone.code(), alone.out() + alone.err());
        assertTrue(alone.err().contains("trained by 2 rank(s); resume it with the same world size"), alone.err());

        r = launch(List.of("train", "--resume", run.toString()));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("resumed") && r.out().contains("trained 2 epoch(s), 12 steps"), r.out());
        assertEquals(12, records(run, "step").size(), "rank 0 alone wrote the log, once per step");
        try (Classifier m = Models.load("small-cnn", run.resolve("model.pth"), 3)) {
            assertTrue(m.stateDict().containsKey("bn1.running_mean"));
        }
    }

    @Test
    void shardsCoverTheTrainingSetOncePerEpochAndAreReshuffled() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + data.resolve("train"));
        List<List<String>> firstBatches = new ArrayList<>();
        for (int epoch = 0; epoch < 2; ++epoch) {
            Set<String> seen = new HashSet<>();
            List<String> first = new ArrayList<>();
            for (int rank = 0; rank < 2; ++rank) {
                // As the trainer builds it: per-rank batch = global / world, drop_last.
                try (Loader l = Loader.builder(ds, TrainTransform.imagenet(24)).batchSize(8).workers(1).seed(0)
                        .shuffle(true).dropLast(true).shard(rank, 2).build();
                     Loader.Epoch it = l.epoch(epoch)) {
                    while (it.hasNext()) {
                        try (Batch b = it.next()) {
                            for (String k : b.keys()) assertTrue(seen.add(k), k + " twice in epoch " + epoch);
                            if (first.size() < 16) first.addAll(b.keys());
                        }
                    }
                }
            }
            assertEquals(ds.size(), seen.size(), "every image once in epoch " + epoch);
            firstBatches.add(first);
        }
        assertNotEquals(firstBatches.get(0), firstBatches.get(1), "each epoch has its own order");
    }
}
