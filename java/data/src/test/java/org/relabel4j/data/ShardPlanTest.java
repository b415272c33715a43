package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The simulation of docs/scale.md: a 300M-image job in 30,000 WebDataset shards of uneven size, read by N ranks.
 * Checks per epoch that the ranks' segments tile every shard exactly once (each sample read once), that the ranks
 * are balanced within 1% (in fact within one sample), and how many shards (and aligned label-map stores) a rank
 * touches.
 */
class ShardPlanTest {
    static long[] shards(int n, long seed) {
        Random rnd = new Random(seed);
        long[] sizes = new long[n];
        for (int i = 0; i < n; ++i) sizes[i] = 9_000 + rnd.nextInt(2_001);  // ~10,000 images per tar, +-10%
        sizes[n - 1] = 1_234;  // a short last shard
        return sizes;
    }

    @Test
    void everySampleOncePerEpochAndRanksBalancedWithinOnePercent() {
        long[] sizes = shards(30_000, 1);
        int shardsPerStore = 100;  // a label-map store per 100 tar shards: 300 stores of ~1M maps
        ShardPlan plan = new ShardPlan(sizes, shardsPerStore, 42);
        long total = plan.samples();
        assertTrue(total > 290_000_000L && total < 310_000_000L, "about 300M samples: " + total);
        for (int ranks : new int[] {8, 64, 256, 1024}) {
            for (int epoch = 0; epoch < 2; ++epoch) {
                List<List<ShardPlan.Segment>> perShard = new ArrayList<>();
                for (int s = 0; s < sizes.length; ++s) perShard.add(new ArrayList<>());
                long min = Long.MAX_VALUE, max = 0;
                int maxShards = 0, maxStores = 0;
                for (int r = 0; r < ranks; ++r) {
                    long n = 0;
                    Set<Integer> stores = new HashSet<>();
                    List<ShardPlan.Segment> mine = plan.assign(epoch, r, ranks);
                    for (ShardPlan.Segment g : mine) {
                        assertTrue(g.from() >= 0 && g.from() < g.to() && g.to() <= sizes[g.shard()], g.toString());
                        perShard.get(g.shard()).add(g);
                        n += g.count();
                        stores.add(g.shard() / shardsPerStore);
                    }
                    min = Math.min(min, n);
                    max = Math.max(max, n);
                    maxShards = Math.max(maxShards, mine.size());
                    maxStores = Math.max(maxStores, stores.size());
                    // only the first and last segment may be partial shards
                    for (int i = 1; i < mine.size() - 1; ++i)
                        assertEquals(sizes[mine.get(i).shard()], mine.get(i).count(), "inner segments are whole shards");
                }
                for (int s = 0; s < sizes.length; ++s) {  // the segments of a shard tile [0, size) exactly once
                    List<ShardPlan.Segment> g = perShard.get(s);
                    g.sort(Comparator.comparingLong(ShardPlan.Segment::from));
                    long at = 0;
                    for (ShardPlan.Segment x : g) {
                        assertEquals(at, x.from(), "shard " + s + ", epoch " + epoch + ", " + ranks + " ranks: gap or overlap");
                        at = x.to();
                    }
                    assertEquals(sizes[s], at, "shard " + s + " read completely");
                }
                double mean = (double) total / ranks;
                assertTrue(max - min <= 1, ranks + " ranks: " + min + ".." + max);
                assertTrue((max - mean) / mean < 0.01 && (mean - min) / mean < 0.01);
                long perRankShards = (sizes.length + ranks - 1) / ranks;
                assertTrue(maxShards <= perRankShards * 1.25 + 2, ranks + " ranks: a rank reads " + maxShards
                        + " shards, " + perRankShards + " on average");
                long perRankStores = (300 + ranks - 1) / ranks;
                assertTrue(maxStores <= perRankStores + 2, ranks + " ranks: a rank touches " + maxStores + " of 300 stores");
            }
        }
    }

    @Test
    void epochsReorderTheShardsAndEveryRankAgrees() {
        ShardPlan plan = new ShardPlan(shards(1000, 2), 7);
        assertArrayEquals(plan.order(3), new ShardPlan(shards(1000, 2), 7).order(3), "the same plan on every rank");
        assertTrue(!java.util.Arrays.equals(plan.order(0), plan.order(1)), "a new shard order each epoch");
        assertTrue(!java.util.Arrays.equals(plan.order(0), new ShardPlan(shards(1000, 2), 8).order(0)), "seeded");
        int[] grouped = new ShardPlan(shards(1000, 2), 10, 7).order(4);
        for (int i = 0; i < grouped.length; i += 10) {  // each run of 10 is one store's shards, in some order
            Set<Integer> g = new HashSet<>();
            for (int j = i; j < i + 10; ++j) g.add(grouped[j] / 10);
            assertEquals(1, g.size(), "group at " + i);
        }
        int[] sorted = grouped.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; ++i) assertEquals(i, sorted[i], "a permutation");
        assertEquals(plan.samples(), plan.assign(0, 0, 1).stream().mapToLong(ShardPlan.Segment::count).sum());
        ShardPlan tiny = new ShardPlan(new long[] {2, 0, 1}, 1);
        long read = 0;
        for (int r = 0; r < 5; ++r) read += tiny.assign(0, r, 5).stream().mapToLong(ShardPlan.Segment::count).sum();
        assertEquals(3, read, "more ranks than samples: some ranks read nothing, none reads twice");
        assertThrows(IllegalArgumentException.class, () -> tiny.assign(0, 5, 5));
        assertThrows(IllegalArgumentException.class, () -> new ShardPlan(new long[] {3, -1}, 0));
    }
}
