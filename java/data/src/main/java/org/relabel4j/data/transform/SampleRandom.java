package org.relabel4j.data.transform;

/**
 * The random stream of one sample in one epoch: a SplitMix64 generator seeded from (seed, epoch, sample index),
 * so every random choice of the augmentation is fixed by that triple, whatever thread, worker count or rank
 * processes the sample. Not thread-safe (one per sample).
 */
public final class SampleRandom {
    private long state;
    private double spareGaussian = Double.NaN;

    private SampleRandom(long state) {
        this.state = state;
    }

    /** The stream of sample {@code index} in {@code epoch} under {@code seed}. */
    public static SampleRandom of(long seed, int epoch, long index) {
        long s = mix(seed ^ 0x5851f42d4c957f2dL);
        s = mix(s ^ (epoch * 0x9e3779b97f4a7c15L));
        s = mix(s ^ (index * 0xd1b54a32d192ed03L));
        return new SampleRandom(s);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The next 64 random bits (SplitMix64). */
    public long nextLong() {
        state += 0x9e3779b97f4a7c15L;
        return mix(state);
    }

    /** Uniform in [0, 1). */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [lo, hi). */
    public double uniform(double lo, double hi) {
        return lo + (hi - lo) * nextDouble();
    }

    /** Uniform integer in [0, bound). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be > 0, got " + bound);
        long r = nextLong() >>> 1;
        return (int) (r % bound);  // bias < 2^-31 for the bounds used here (image sizes)
    }

    /** A fair coin. */
    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    /** Standard normal (Marsaglia polar method). */
    public double gaussian() {
        if (!Double.isNaN(spareGaussian)) {
            double g = spareGaussian;
            spareGaussian = Double.NaN;
            return g;
        }
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double m = Math.sqrt(-2 * Math.log(s) / s);
        spareGaussian = v * m;
        return u * m;
    }

    /** A random permutation of 0..n-1 (Fisher-Yates). */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; ++i) p[i] = i;
        for (int i = n - 1; i > 0; --i) {
            int j = nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
