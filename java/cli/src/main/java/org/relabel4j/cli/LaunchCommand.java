package org.relabel4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code relabel launch}: torchrun for this CLI. Starts {@code --nproc-per-node} JVMs running a {@code relabel}
 * command with the torchrun variables set (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,
 * MASTER_ADDR, MASTER_PORT), relays their output, and treats them as one job: when a rank fails, the others get
 * {@code --grace} seconds to stop on their own (their next collective fails), then SIGTERM, then SIGKILL; SIGINT or
 * SIGTERM to the launcher is passed on the same way. Exit code: 0 when every rank succeeded, else the first
 * failure's (1 for a rank killed by a signal).
 */
@Command(name = "launch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a relabel command as a data-parallel job of local processes, like torchrun: "
                + "relabel launch --nproc-per-node 2 -- train --preset tiny ...",
                "Several nodes: run it on every node with the same --nnodes, --master-addr and --master-port and "
                        + "its own --node-rank (or use srun without launch; see docs/distributed.md).",
                "Lines of rank r > 0 are prefixed with [rank r]. OMP_NUM_THREADS, when unset, becomes the node's "
                        + "cores divided by --nproc-per-node."})
final class LaunchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--nproc-per-node", paramLabel = "N", defaultValue = "1", description = "processes (ranks) on this node")
    int nprocPerNode;

    @Option(names = "--nnodes", paramLabel = "N", defaultValue = "1", description = "nodes in the job")
    int nnodes;

    @Option(names = "--node-rank", paramLabel = "I", defaultValue = "0", description = "this node's index in [0, nnodes)")
    int nodeRank;

    @Option(names = "--master-addr", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "host of rank 0 (node 0), where the rendezvous store listens")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT", defaultValue = "29500", description = "its port")
    int masterPort;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "5",
            description = "after a rank fails: time the others get to stop before SIGTERM, and again before SIGKILL")
    long grace;

    @Option(names = "--jvm-opt", paramLabel = "OPT", description = "a JVM option for the ranks, e.g. --jvm-opt=-Xmx8g "
            + "(repeatable; this JVM's -Xmx/-Xms/-D options are passed on by default)")
    List<String> jvmOpts = new ArrayList<>();

    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "the relabel command and its arguments, after --")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nprocPerNode);
        if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be >= 1, got " + nnodes);
        if (nodeRank < 0 || nodeRank >= nnodes)
            throw new IllegalArgumentException("--node-rank " + nodeRank + " is outside [0, " + nnodes + ")");
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("--master-port must be in [1, 65535]");
        if (command.get(0).equals("launch")) throw new IllegalArgumentException("launch cannot launch itself");
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        int world = nnodes * nprocPerNode;
        List<Process> ranks = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        Thread onSignal = new Thread(() -> stop(ranks, 0), "relabel-launch-signal");
        Runtime.getRuntime().addShutdownHook(onSignal);  // SIGINT/SIGTERM: stop the ranks before this JVM exits
        try {
            for (int local = 0; local < nprocPerNode; ++local) {
                int rank = nodeRank * nprocPerNode + local;
                ProcessBuilder pb = new ProcessBuilder(javaCommand());
                Map<String, String> env = pb.environment();
                env.put("RANK", Integer.toString(rank));
                env.put("WORLD_SIZE", Integer.toString(world));
                env.put("LOCAL_RANK", Integer.toString(local));
                env.put("LOCAL_WORLD_SIZE", Integer.toString(nprocPerNode));
                env.put("GROUP_RANK", Integer.toString(nodeRank));
                env.put("MASTER_ADDR", masterAddr);
                env.put("MASTER_PORT", Integer.toString(masterPort));
                if (nprocPerNode > 1 && System.getenv("OMP_NUM_THREADS") == null)
                    env.put("OMP_NUM_THREADS", Integer.toString(Math.max(1, Runtime.getRuntime().availableProcessors() / nprocPerNode)));
                Process p = pb.start();
                ranks.add(p);
                String prefix = rank == 0 ? "" : "[rank " + rank + "] ";
                pumps.add(pump(p.getInputStream(), out, prefix));
                pumps.add(pump(p.getErrorStream(), err, prefix));
            }
            int code = supervise(ranks, err);
            for (Thread t : pumps) t.join(TimeUnit.SECONDS.toMillis(2));
            return code;
        } finally {
            stop(ranks, 0);
            try {
                Runtime.getRuntime().removeShutdownHook(onSignal);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
            out.flush();
            err.flush();
        }
    }

    /** Waits for the ranks; on the first failure stops the others and returns its exit code. */
    private int supervise(List<Process> ranks, PrintWriter err) throws InterruptedException {
        while (true) {
            boolean running = false;
            for (int i = 0; i < ranks.size(); ++i) {
                Process p = ranks.get(i);
                if (p.isAlive()) {
                    running = true;
                    continue;
                }
                int code = p.exitValue();
                if (code != 0) {
                    int rank = nodeRank * nprocPerNode + i;
                    err.println("launch: rank " + rank + " exited with " + describe(code) + "; stopping the job");
                    err.flush();
                    stop(ranks, grace);
                    return code > 128 ? RelabelCli.EXIT_FAILURE : code;
                }
            }
            if (!running) return 0;
            Thread.sleep(100);
        }
    }

    private static String describe(int code) {
        return code > 128 ? "signal " + (code - 128) + " (exit code " + code + ")" : "exit code " + code;
    }

    /** Gives the live ranks {@code graceSeconds} to exit, then SIGTERM, then (after as long again) SIGKILL. */
    private void stop(List<Process> ranks, long graceSeconds) {
        long quiet = Math.max(graceSeconds, 0), term = Math.max(grace, 1);
        waitAll(ranks, quiet);
        for (Process p : ranks) if (p.isAlive()) p.destroy();
        waitAll(ranks, term);
        for (Process p : ranks) if (p.isAlive()) p.destroyForcibly();
        waitAll(ranks, 5);
    }

    private static void waitAll(List<Process> ranks, long seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (Process p : ranks) {
            try {
                long left = deadline - System.nanoTime();
                if (left > 0) p.waitFor(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** This JVM's java, its class path and relevant options, the CLI's main class, then the command. */
    private List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xss") || a.startsWith("-D")) cmd.add(a);
        cmd.addAll(jvmOpts);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(RelabelCli.class.getName());
        cmd.addAll(command);
        return cmd;
    }

    /** Copies a rank's output line by line, with its prefix. */
    private static Thread pump(InputStream in, PrintWriter to, String prefix) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (to) {
                        to.println(prefix + line);
                        to.flush();
                    }
                }
            } catch (IOException e) {
                // the rank is gone
            }
        }, "relabel-launch-pump");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
