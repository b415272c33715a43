package org.relabel4j.store;

import java.nio.file.Path;
import java.util.List;

/**
 * Shard {@code index} of {@code count} ({@code --shard i/N}, 0-based): a contiguous slice of a sorted work list,
 * so that merging the shards in index order keeps the list's order.
 */
public record Shard(int index, int count) {
    /** Checks 0 <= index < count. */
    public Shard {
        if (count < 1 || index < 0 || index >= count)
            throw new IllegalArgumentException("shard must be i/N with 0 <= i < N, got " + index + "/" + count);
    }

    /** Parses "i/N". */
    public static Shard parse(String s) {
        String[] parts = s.trim().split("/");
        try {
            if (parts.length == 2) return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--shard must be i/N (e.g. 3/8), got '" + s + "'");
    }

    /** This shard's contiguous part of {@code all} (the shards together cover it once, in order). */
    public <T> List<T> slice(List<T> all) {
        long n = all.size();
        return all.subList((int) (n * index / count), (int) (n * (index + 1) / count));
    }

    /** The part file of this shard for output {@code out}: {@code <out>.shard-00003-of-00008}. */
    public Path partFile(Path out) {
        return out.resolveSibling(String.format("%s.shard-%05d-of-%05d", out.getFileName(), index, count));
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
