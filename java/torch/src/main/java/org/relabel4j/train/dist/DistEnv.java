package org.relabel4j.train.dist;

import java.util.Map;

/**
 * A process's place in a data-parallel job, read from the environment as torchrun and {@code relabel launch} set it
 * ({@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT}), or as SLURM sets it for the tasks of an {@code srun} step ({@code SLURM_PROCID},
 * {@code SLURM_NTASKS}, {@code SLURM_LOCALID}, the first host of {@code SLURM_STEP_NODELIST}). The torchrun
 * variables win; without either, the process is alone ({@link #single()}).
 *
 * @param masterAddr host of rank 0, where the rendezvous store (TCPStore) listens
 * @param masterPort its port
 * @param source where the values came from ("single", "env", "slurm"), for messages
 */
public record DistEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort,
        String source) {
    /** The port when none is given: torchrun's default. */
    public static final int DEFAULT_PORT = 29500;

    public DistEnv {
        if (worldSize < 1) throw new IllegalArgumentException(source + ": world size must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException(source + ": rank " + rank + " is outside [0, " + worldSize + ")");
        if (localRank < 0) throw new IllegalArgumentException(source + ": local rank must be >= 0, got " + localRank);
        if (masterPort < 1 || masterPort > 65535)
            throw new IllegalArgumentException(source + ": master port must be in [1, 65535], got " + masterPort);
        if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException(source + ": no master address");
    }

    /** A process alone: rank 0 of 1. */
    public static DistEnv single() {
        return new DistEnv(0, 1, 0, 1, "127.0.0.1", DEFAULT_PORT, "single");
    }

    /** More than one rank. */
    public boolean distributed() {
        return worldSize > 1;
    }

    /** This process's environment. */
    public static DistEnv fromEnvironment() {
        return from(System.getenv());
    }

    /**
     * The job as {@code env} describes it. SLURM's variables count only inside an {@code srun} step
     * ({@code SLURM_STEP_ID} set), so that a batch script running one process is not mistaken for its job's tasks.
     */
    public static DistEnv from(Map<String, String> env) {
        if (env.get("WORLD_SIZE") != null) {
            int world = integer(env, "WORLD_SIZE", null);
            int rank = integer(env, "RANK", world == 1 ? 0 : null);
            int localWorld = integer(env, "LOCAL_WORLD_SIZE", world);
            int local = integer(env, "LOCAL_RANK", rank % localWorld);
            String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
            return new DistEnv(rank, world, local, localWorld, addr, integer(env, "MASTER_PORT", DEFAULT_PORT), "env");
        }
        boolean step = env.get("SLURM_STEP_ID") != null || env.get("SLURM_STEPID") != null;
        if (step && env.get("SLURM_PROCID") != null && env.get("SLURM_NTASKS") != null) {
            int world = integer(env, "SLURM_NTASKS", null);
            int rank = integer(env, "SLURM_PROCID", null);
            int local = integer(env, "SLURM_LOCALID", 0);
            int localWorld = tasksPerNode(env, world);
            String addr = env.get("MASTER_ADDR");
            if (addr == null) {
                String nodes = env.getOrDefault("SLURM_STEP_NODELIST", env.get("SLURM_JOB_NODELIST"));
                if (nodes == null)
                    throw new IllegalArgumentException("slurm: set MASTER_ADDR, or SLURM_STEP_NODELIST / SLURM_JOB_NODELIST");
                addr = firstHost(nodes);
            }
            // A port per job, so that two jobs sharing a node do not collide.
            String job = env.get("SLURM_JOB_ID");
            int fallback = job != null && job.matches("\\d+") ? 20000 + (int) (Long.parseLong(job) % 20000) : DEFAULT_PORT;
            return new DistEnv(rank, world, local, localWorld, addr, integer(env, "MASTER_PORT", fallback), "slurm");
        }
        return single();
    }

    /** The first host of a SLURM node list: {@code node[003-005,9],gpu1} gives {@code node003}. */
    public static String firstHost(String nodeList) {
        String s = nodeList.trim();
        if (s.isEmpty()) throw new IllegalArgumentException("slurm: empty node list");
        int bracket = s.indexOf('['), comma = s.indexOf(',');
        if (bracket < 0 || (comma >= 0 && comma < bracket)) return comma < 0 ? s : s.substring(0, comma);
        int close = s.indexOf(']', bracket);
        if (close < 0) throw new IllegalArgumentException("slurm: bad node list '" + nodeList + "'");
        String first = s.substring(bracket + 1, close).split(",")[0].split("-")[0];
        return s.substring(0, bracket) + first;
    }

    /**
     * This node's task count from {@code SLURM_STEP_TASKS_PER_NODE} (else {@code SLURM_TASKS_PER_NODE}) in SLURM's
     * {@code 4(x2),2} notation: the first node's; all tasks when neither is set. A value that does not parse is an
     * error naming the variable and the value, as for every other variable.
     */
    static int tasksPerNode(Map<String, String> env, int world) {
        String name = env.get("SLURM_STEP_TASKS_PER_NODE") != null ? "SLURM_STEP_TASKS_PER_NODE" : "SLURM_TASKS_PER_NODE";
        String v = env.get(name);
        if (v == null || v.isBlank()) return world;
        if (!v.trim().matches("\\d+(\\(x\\d+\\))?(,\\d+(\\(x\\d+\\))?)*"))
            throw new IllegalArgumentException("environment: " + name + " must be SLURM's tasks-per-node list (e.g. 4 or "
                    + "4(x2),2), got '" + v + "'");
        String first = v.trim().split(",")[0];
        int paren = first.indexOf('('), n;
        try {
            n = Integer.parseInt(paren < 0 ? first : first.substring(0, paren));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment: " + name + " is out of range, got '" + v + "'");
        }
        if (n < 1) throw new IllegalArgumentException("environment: " + name + " must count at least 1 task, got '" + v + "'");
        return n;
    }

    private static int integer(Map<String, String> env, String name, Integer fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            if (fallback == null) throw new IllegalArgumentException("environment: " + name + " is not set");
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment: " + name + " must be an integer, got '" + v + "'");
        }
    }

    @Override
    public String toString() {
        return "rank " + rank + " of " + worldSize + " (local " + localRank + " of " + localWorldSize + ", master "
                + masterAddr + ":" + masterPort + ", from " + source + ")";
    }
}
