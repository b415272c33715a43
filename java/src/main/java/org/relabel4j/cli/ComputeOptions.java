package org.relabel4j.cli;

import picocli.CommandLine.Option;

/** The --device and --threads options shared by the compute commands. */
final class ComputeOptions {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda[:N]", description = "where to compute")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all available processors)")
    int threads;

    /** -1 for the CPU, else the CUDA device index. */
    int device() {
        return Devices.parse(device);
    }

    int threads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
