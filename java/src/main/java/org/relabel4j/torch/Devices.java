package org.relabel4j.cli;

/** Parses --device values: cpu, cuda, cuda:N. Returns -1 for the CPU, else the CUDA device index. */
final class Devices {
    private Devices() {}

    static int parse(String value) {
        String v = value.trim().toLowerCase();
        if (v.equals("cpu")) return -1;
        if (v.equals("cuda")) return 0;
        if (v.startsWith("cuda:")) {
            try {
                int index = Integer.parseInt(v.substring(5));
                if (index >= 0) return index;
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("--device must be cpu, cuda or cuda:N, got '" + value + "'");
    }

    static String name(int device) {
        return device < 0 ? "cpu" : "cuda:" + device;
    }
}
