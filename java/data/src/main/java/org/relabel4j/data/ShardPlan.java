package org.relabel4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which samples of a sharded dataset (WebDataset tar shards, and label-map stores aligned with them) each of N
 * data-parallel ranks reads in an epoch, reading whole shards where it can (docs/scale.md). Shards form groups of
 * {@code shardsPerGroup} consecutive shards (the shards one label-map store covers). Each epoch the groups are put
 * in a seeded random order and the shards within each group too, concatenated, and cut into N contiguous ranges of
 * equal sample count (they differ by at most one sample); a rank reads its range: whole shards, plus at most one
 * partial shard at each end. So every sample is read exactly once per epoch, the ranks are balanced whatever the
 * shard sizes, and a rank opens about {@code shards / N + 2} shards and {@code groups / N + 2} label-map stores,
 * instead of all of them as a global per-sample shuffle with a stride split would make it. Shuffling within a
 * rank's range (a buffer over its shards) is the loader's job.
 */
public final class ShardPlan {
    private final long[] sizes;
    private final long seed;
    private final int group;

    /** A run of samples {@code [from, to)} of one shard, in shard order. */
    public record Segment(int shard, long from, long to) {
        /** Samples in the run. */
        public long count() {
            return to - from;
        }
    }

    /** A plan whose groups are single shards. */
    public ShardPlan(long[] shardSizes, long seed) {
        this(shardSizes, 1, seed);
    }

    /**
     * @param shardSizes samples in each shard (at least one shard; sizes >= 0)
     * @param shardsPerGroup consecutive shards kept together (those of one label-map store); the last group may be
     *     shorter
     */
    public ShardPlan(long[] shardSizes, int shardsPerGroup, long seed) {
        if (shardsPerGroup < 1) throw new IllegalArgumentException("shardsPerGroup " + shardsPerGroup + " < 1");
        this.group = shardsPerGroup;
        if (shardSizes.length == 0) throw new IllegalArgumentException("no shards");
        for (int i = 0; i < shardSizes.length; ++i)
            if (shardSizes[i] < 0) throw new IllegalArgumentException("shard " + i + " has " + shardSizes[i] + " samples");
        this.sizes = shardSizes.clone();
        this.seed = seed;
    }

    /** Samples in all shards together. */
    public long samples() {
        long n = 0;
        for (long s : sizes) n += s;
        return n;
    }

    /**
     * The epoch's shard order, the same on every rank: the groups in a seeded random order, each group's shards in
     * a seeded random order.
     */
    public int[] order(int epoch) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        int groups = (sizes.length + group - 1) / group;
        int[] g = shuffle(identity(0, groups), rnd);
        int[] o = new int[sizes.length];
        int n = 0;
        for (int k : g) {
            int[] members = shuffle(identity(k * group, Math.min(sizes.length, (k + 1) * group)), rnd);
            System.arraycopy(members, 0, o, n, members.length);
            n += members.length;
        }
        return o;
    }

    private static int[] identity(int from, int to) {
        int[] a = new int[to - from];
        for (int i = 0; i < a.length; ++i) a[i] = from + i;
        return a;
    }

    private static int[] shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; --i) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** The segments {@code rank} of {@code ranks} reads in {@code epoch}, in reading order. */
    public List<Segment> assign(int epoch, int rank, int ranks) {
        if (ranks <= 0 || rank < 0 || rank >= ranks)
            throw new IllegalArgumentException("rank " + rank + " of " + ranks);
        long total = samples();
        long from = Math.multiplyExact(total, (long) rank) / ranks;
        long to = Math.multiplyExact(total, rank + 1L) / ranks;
        List<Segment> out = new ArrayList<>();
        long at = 0;  // start of the current shard in the epoch's concatenation
        for (int s : order(epoch)) {
            long end = at + sizes[s];
            long a = Math.max(at, from), b = Math.min(end, to);
            if (a < b) out.add(new Segment(s, a - at, b - at));
            if (end >= to) break;
            at = end;
        }
        return out;
    }
}
