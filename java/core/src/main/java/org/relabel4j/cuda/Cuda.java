package org.relabel4j.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;

/** What the native core can do with CUDA here: whether its kernels are built, and which devices it sees. */
public final class Cuda {
    private Cuda() {}

    /** True when librelabel was compiled with its CUDA kernels. */
    public static boolean built() {
        return RelabelNative.relabel_cuda_built() != 0;
    }

    /** Usable devices (0 when there is no driver, no device, or no CUDA build). */
    public static int deviceCount() {
        try (IntPointer count = new IntPointer(1)) {
            return RelabelNative.relabel_cuda_device_count(count) == RelabelNative.OK ? count.get() : 0;
        }
    }

    /** Why there is no usable device, or null when there is one. */
    public static String unavailableReason() {
        try (IntPointer count = new IntPointer(1)) {
            return RelabelNative.relabel_cuda_device_count(count) == RelabelNative.OK ? null
                    : RelabelNative.lastError();
        }
    }

    /** The device's name, compute capability and memory, e.g. "NVIDIA H100 (sm_90, 79.1 GiB)". */
    public static String deviceName(int device) {
        try (BytePointer name = new BytePointer(256)) {
            NativeStatus.check(RelabelNative.relabel_cuda_device_name(device, name, 256), "CUDA device " + device);
            return name.getString();
        }
    }

    /** Throws {@link CudaUnavailableException} naming the reason unless {@code device} can run the CUDA ops. */
    public static void require(int device) {
        String reason = unavailableReason();
        if (reason != null) throw new CudaUnavailableException("CUDA is not available: " + reason);
        int count = deviceCount();
        if (device < 0 || device >= count)
            throw new IllegalArgumentException("CUDA device " + device + " does not exist (" + count + " device(s))");
    }

    /** Waits for the work queued on {@code device}'s default stream. */
    public static void synchronize(int device) {
        NativeStatus.check(RelabelNative.relabel_cuda_synchronize(device, null), "cudaStreamSynchronize");
    }
}
