package org.relabel4j.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where a process finds its rank: torchrun's variables, an srun step, or nothing (alone). */
class DistEnvTest {
    @Test
    void torchrunVariables() {
        DistEnv e = DistEnv.from(Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4",
                "MASTER_ADDR", "node07", "MASTER_PORT", "29600"));
        assertEquals(new DistEnv(5, 8, 1, 4, "node07", 29600, "env"), e);
        assertTrue(e.distributed());
        // Defaults: localhost, torchrun's port, local rank from the rank.
        e = DistEnv.from(Map.of("RANK", "1", "WORLD_SIZE", "2"));
        assertEquals(new DistEnv(1, 2, 1, 2, "127.0.0.1", 29500, "env"), e);
    }

    @Test
    void aLoneProcessIsRankZeroOfOne() {
        DistEnv e = DistEnv.from(Map.of("HOME", "/root"));
        assertFalse(e.distributed());
        assertEquals(0, e.rank());
        assertEquals(1, e.worldSize());
        // A SLURM batch script (no srun step) is not a rank of its job's tasks.
        assertFalse(DistEnv.from(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "8", "SLURM_JOB_NODELIST", "n[1-2]"))
                .distributed());
    }

    @Test
    void srunStep() {
        DistEnv e = DistEnv.from(Map.of("SLURM_STEP_ID", "0", "SLURM_PROCID", "6", "SLURM_NTASKS", "8",
                "SLURM_LOCALID", "2", "SLURM_STEP_TASKS_PER_NODE", "4(x2)", "SLURM_STEP_NODELIST", "gpu[017-018]",
                "SLURM_JOB_ID", "123456"));
        assertEquals(new DistEnv(6, 8, 2, 4, "gpu017", 20000 + 123456 % 20000, "slurm"), e);
        // torchrun's variables win over SLURM's; MASTER_ADDR/PORT override the node list and the job's port.
        e = DistEnv.from(Map.of("SLURM_STEP_ID", "0", "SLURM_PROCID", "6", "SLURM_NTASKS", "8", "WORLD_SIZE", "2",
                "RANK", "0"));
        assertEquals("env", e.source());
        e = DistEnv.from(Map.of("SLURM_STEP_ID", "0", "SLURM_PROCID", "1", "SLURM_NTASKS", "2",
                "SLURM_JOB_NODELIST", "a,b", "MASTER_ADDR", "head", "MASTER_PORT", "4000"));
        assertEquals("head", e.masterAddr());
        assertEquals(4000, e.masterPort());
    }

    @Test
    void firstHostOfASlurmNodeList() {
        assertEquals("node003", DistEnv.firstHost("node[003-005,9],gpu1"));
        assertEquals("gpu1", DistEnv.firstHost("gpu1,node[003-005]"));
        assertEquals("n7", DistEnv.firstHost("n[7,9]"));
        assertEquals("single", DistEnv.firstHost("single"));
        assertEquals(4, DistEnv.tasksPerNode(Map.of("SLURM_STEP_TASKS_PER_NODE", "4(x2),2"), 10));
        assertEquals(3, DistEnv.tasksPerNode(Map.of("SLURM_TASKS_PER_NODE", "3,2(x4)"), 10));
        assertEquals(2, DistEnv.tasksPerNode(Map.of("SLURM_STEP_TASKS_PER_NODE", "2", "SLURM_TASKS_PER_NODE", "x"), 10));
        assertEquals(10, DistEnv.tasksPerNode(Map.of(), 10));
    }

    @Test
    void badValuesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> DistEnv.from(Map.of("WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("RANK is not set"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DistEnv.from(Map.of("WORLD_SIZE", "2", "RANK", "2")));
        assertTrue(e.getMessage().contains("rank 2 is outside [0, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DistEnv.from(Map.of("WORLD_SIZE", "two", "RANK", "0")));
        assertTrue(e.getMessage().contains("WORLD_SIZE must be an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DistEnv.from(Map.of("WORLD_SIZE", "2", "RANK", "0", "MASTER_PORT", "70000")));
        assertTrue(e.getMessage().contains("master port"), e.getMessage());
        // SLURM's tasks per node: a value that does not parse is refused like the others, not replaced by a guess.
        for (String bad : new String[] {"four", "4(x2", "4,,2", "0", "99999999999"}) {
            e = assertThrows(IllegalArgumentException.class, () -> DistEnv.from(Map.of("SLURM_STEP_ID", "0",
                    "SLURM_PROCID", "0", "SLURM_NTASKS", "4", "SLURM_TASKS_PER_NODE", bad, "MASTER_ADDR", "h")), bad);
            assertTrue(e.getMessage().contains("SLURM_TASKS_PER_NODE") && e.getMessage().contains("'" + bad + "'"),
                    e.getMessage());
        }
    }
}
