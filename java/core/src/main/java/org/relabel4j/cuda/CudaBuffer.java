package org.relabel4j.cuda;

import java.nio.ByteBuffer;
import org.bytedeco.javacpp.Pointer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * Device memory owned by the native core's CUDA runtime, for callers without a CUDA library of their own (the
 * CLI, the tests). LibTorch users pass CUDA tensors to the ops instead. Close it to free the memory.
 */
public final class CudaBuffer implements AutoCloseable {
    private final int device;
    private final long bytes;
    private volatile Pointer pointer;

    private CudaBuffer(int device, long bytes) {
        Cuda.require(device);
        this.device = device;
        this.bytes = bytes;
        Pointer p = new Pointer();
        NativeStatus.check(RelabelNative.relabel_cuda_malloc(device, p, bytes), "cudaMalloc of " + bytes + " bytes");
        this.pointer = p;
    }

    /** Uninitialized device memory. */
    public static CudaBuffer allocate(int device, long bytes) {
        return new CudaBuffer(device, bytes);
    }

    /** Zero-filled device memory. */
    public static CudaBuffer zeros(int device, long bytes) {
        CudaBuffer b = new CudaBuffer(device, bytes);
        NativeStatus.check(RelabelNative.relabel_cuda_memset(b.pointer, 0, bytes), "cudaMemset");
        return b;
    }

    /** A device copy of {@code array}. */
    public static CudaBuffer upload(int device, NdArray array) {
        CudaBuffer b = new CudaBuffer(device, array.nbytes());
        try {
            NativeStatus.check(RelabelNative.relabel_cuda_memcpy(b.pointer, new Pointer(array.buffer()), array.nbytes(), 1),
                    "copy to CUDA device " + device);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    /** Copies the first {@code dtype x shape} bytes back into a new host array. */
    public NdArray download(DType dtype, long... shape) {
        NdArray out = NdArray.zeros(dtype, shape);
        if (out.nbytes() > bytes)
            throw new IllegalArgumentException("cannot download " + out + " from a buffer of " + bytes + " bytes");
        ByteBuffer target = out.buffer();
        NativeStatus.check(RelabelNative.relabel_cuda_memcpy(new Pointer(target), live(), out.nbytes(), 2),
                "copy from CUDA device " + device);
        return out;
    }

    /** The device address (for the ops of this library). */
    public Pointer pointer() {
        return live();
    }

    /** Bytes allocated; an IllegalStateException once closed. */
    public long bytes() {
        live();
        return bytes;
    }

    /** The CUDA device index; an IllegalStateException once closed. */
    public int device() {
        live();
        return device;
    }

    /** Whether {@link #close()} has freed the memory. */
    public boolean isClosed() {
        return pointer == null;
    }

    private Pointer live() {
        Pointer p = pointer;
        if (p == null) throw new IllegalStateException("CudaBuffer of " + bytes + " bytes on cuda:" + device + " is closed");
        return p;
    }

    /** Frees the device memory; idempotent. */
    @Override
    public synchronized void close() {
        Pointer p = pointer;
        if (p != null) {
            pointer = null;
            RelabelNative.relabel_cuda_free(p);
        }
    }
}
