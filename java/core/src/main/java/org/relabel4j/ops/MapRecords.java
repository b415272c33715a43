package org.relabel4j.ops;

import java.util.Objects;
import org.bytedeco.javacpp.Pointer;

/**
 * A contiguous array of map records ({@link MapFormat#layout()}), on the host or on a CUDA device, that
 * {@link LabelPooling#gather(MapRecords, org.relabel4j.nd.NdArray, org.relabel4j.nd.NdArray,
 * org.relabel4j.nd.NdArray)} reads in place: a memory-mapped label-map store, or a store uploaded to a GPU. The
 * memory belongs to whoever made this view; a view from {@code LabelMapStore.records()} or {@code DeviceRecords}
 * throws an IllegalStateException naming its owner once the owner is closed. Immutable and safe to share between
 * threads while the owner is open.
 */
public final class MapRecords {
    private final MapFormat format;
    private final long count;
    private final Pointer base;
    private final int device;
    private final Runnable guard;
    private final Runnable alive;

    private MapRecords(MapFormat format, long count, Pointer base, int device, Runnable guard, Runnable alive) {
        this.format = Objects.requireNonNull(format, "format");
        if (count < 0) throw new IllegalArgumentException("count must be >= 0, got " + count);
        if (count > 0 && (base == null || base.isNull())) throw new IllegalArgumentException("records base is NULL");
        this.count = count;
        this.base = base;
        this.device = device;
        this.guard = guard;
        this.alive = alive;
    }

    /** {@code count} records at {@code base} (16-byte aligned) on the host ({@code device} -1) or a CUDA device. */
    public static MapRecords of(MapFormat format, long count, Pointer base, int device) {
        return new MapRecords(format, count, base, device, null, null);
    }

    /**
     * As {@link #of(MapFormat, long, Pointer, int)}, with a check that every gather runs before it reads the records
     * (a memory-mapped store's: that its file was not truncated under the mapping); it throws to stop the gather.
     */
    public static MapRecords of(MapFormat format, long count, Pointer base, int device, Runnable guard) {
        return new MapRecords(format, count, base, device, guard, null);
    }

    /**
     * As {@link #of(MapFormat, long, Pointer, int, Runnable)}, with a cheap check that every method of this view
     * runs first: it throws an IllegalStateException naming the owner once the owner is closed (its memory freed or
     * unmapped), so that a view outliving its owner fails instead of reading freed memory.
     */
    public static MapRecords of(MapFormat format, long count, Pointer base, int device, Runnable guard,
            Runnable alive) {
        return new MapRecords(format, count, base, device, guard, alive);
    }

    private void alive() {
        if (alive != null) alive.run();
    }

    /** The format of every record (an IllegalStateException once the owner is closed). */
    public MapFormat format() {
        alive();
        return format;
    }

    /** The number of records (an IllegalStateException once the owner is closed). */
    public long count() {
        alive();
        return count;
    }

    /** -1 for host memory, else the CUDA device index. */
    public int device() {
        alive();
        return device;
    }

    /**
     * The address of record 0 (host or device memory, see {@link #device()}), for bridges that wrap the records in
     * another library's array (e.g. {@code org.relabel4j.torch.TensorOps.records}); valid while the owner is open.
     */
    public Pointer base() {
        alive();
        return base;
    }

    /**
     * Runs the owner's check before a read (see {@link #of(MapFormat, long, Pointer, int, Runnable)}): throws when
     * the owner was closed or its memory changed under the view.
     */
    public void checkUnchanged() {
        checkReadable();
    }

    void checkReadable() {
        alive();
        if (guard != null) guard.run();
    }
}
