package org.relabel4j.cli;

import org.relabel4j.torch.Devices;
import picocli.CommandLine.Option;

/** The --device and --threads options shared by the compute commands. */
final class ComputeOptions {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda[:N]", description = "where to compute")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all available processors)")
    int threads;

    /** -1 for the CPU, else the CUDA device index. */
    int device() {
        return parseDevice(device);
    }

    /** {@link Devices#parse} with the error naming the {@code --device} option. */
    static int parseDevice(String device) {
        try {
            return Devices.parse(device);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + e.getMessage(), e);
        }
    }

    int threads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
