package org.relabel4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.Device;

/** Process and device memory, as a run reports it: resident and peak resident host memory, peak CUDA memory. */
public final class MemoryStats {
    private MemoryStats() {}

    /** Resident set size (VmRSS), or -1 where /proc is not available. */
    public static long rssBytes() {
        return procStatus("VmRSS:");
    }

    /** Peak resident set size of the process so far (VmHWM), or -1 where /proc is not available. */
    public static long peakRssBytes() {
        return procStatus("VmHWM:");
    }

    /** Peak bytes allocated by LibTorch's CUDA caching allocator on the device, or null for the CPU. */
    public static Long peakDeviceBytes(Device device) {
        if (device == null || !device.is_cuda()) return null;
        try {
            byte index = device.has_index() ? device.index() : 0;
            var stats = org.bytedeco.pytorch.global.torch_cuda.getAllocator().getDeviceStats(index);
            return stats.allocated_bytes().peak();  // StatType.AGGREGATE, the first of the array
        } catch (Throwable e) {
            return null;
        }
    }

    private static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: unknown
        }
        return -1;
    }
}
