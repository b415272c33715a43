package org.relabel4j.torch;

import org.bytedeco.pytorch.Device;

/** Device names as the CLI and configs spell them: cpu, cuda, cuda:N. */
public final class Devices {
    private Devices() {}

    /** -1 for the CPU, else the CUDA device index. */
    public static int parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(java.util.Locale.ROOT);
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
        throw new IllegalArgumentException("device must be cpu, cuda or cuda:N, got '" + value + "'");
    }

    /** "cpu" for a negative {@code device}, else "cuda:N". */
    public static String name(int device) {
        return device < 0 ? "cpu" : "cuda:" + device;
    }

    /**
     * The LibTorch device for {@code value}; a CUDA device must exist (LibTorch built with CUDA, the -gpu natives,
     * and a visible GPU), else the error says what is missing.
     */
    public static Device torchDevice(String value) {
        int index = parse(value);
        Torch.init();
        if (index < 0) return new Device("cpu");
        if (!Torch.cudaAvailable())
            throw new IllegalArgumentException("device " + value + " requested but LibTorch sees no CUDA device "
                    + "(build with -Pgpu for the CUDA natives, and run on a machine with a GPU and driver)");
        int count = org.bytedeco.pytorch.global.torch_cuda.device_count();
        if (index >= count)
            throw new IllegalArgumentException("device " + value + " requested but only " + count + " CUDA device(s) exist");
        return new Device("cuda:" + index);
    }
}
