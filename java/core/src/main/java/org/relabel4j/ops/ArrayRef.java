package org.relabel4j.ops;

import java.util.Arrays;
import java.util.Set;
import org.bytedeco.javacpp.Pointer;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * One argument of an op, whatever holds it (host NdArray, LibTorch tensor on the CPU or a GPU, device buffer):
 * its name for messages, element type, shape, data address and device (-1 = host). The checks here produce the
 * IllegalArgumentExceptions of the facades, naming the argument and the offending value.
 *
 * <p>Public only so that bridges to other libraries' arrays (e.g. {@code org.relabel4j.torch.TensorOps} for LibTorch)
 * can hand their memory to {@link LabelPooling} and {@link TopK}: see {@link #external}. Immutable; the memory
 * belongs to the caller.
 */
public final class ArrayRef {
    final String name;
    final DType dtype;
    final long[] shape;
    final Pointer data;
    final int device;
    final Object keepAlive;  // e.g. a contiguous copy made for the call, if any

    private ArrayRef(String name, DType dtype, long[] shape, Pointer data, int device, Object keepAlive) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
        this.device = device;
        this.keepAlive = keepAlive;
    }

    static ArrayRef of(String name, NdArray a) {
        if (a == null) throw new IllegalArgumentException(name + " must not be null");
        return new ArrayRef(name, a.dtype(), a.shape(), new Pointer(a.buffer()), -1, null);
    }

    /**
     * An argument in memory another library owns: a contiguous array of {@code dtype} and {@code shape} at
     * {@code data} on the host ({@code device} -1) or CUDA device {@code device}. {@code keepAlive} is held as long as
     * this reference (e.g. a contiguous copy made for the call); the caller keeps {@code data} valid during the call.
     * {@code name} names the argument in error messages.
     */
    public static ArrayRef external(String name, DType dtype, long[] shape, Pointer data, int device, Object keepAlive) {
        if (dtype == null) throw new IllegalArgumentException(name + ": unsupported dtype");
        return new ArrayRef(name, dtype, shape.clone(), data, device, keepAlive);
    }

    static ArrayRef of(String name, CudaBuffer b, DType dtype, long... shape) {
        return new ArrayRef(name, dtype, shape, b.pointer(), b.device(), null);
    }

    boolean onHost() {
        return device < 0;
    }

    long numel() {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    String where() {
        return device < 0 ? "cpu" : "cuda:" + device;
    }

    ArrayRef requireRank(int rank, String layout) {
        if (shape.length != rank)
            throw new IllegalArgumentException(name + ": expected rank " + rank + " " + layout + ", got shape "
                    + Arrays.toString(shape));
        return this;
    }

    ArrayRef requireDtype(Set<DType> allowed) {
        if (!allowed.contains(dtype))
            throw new IllegalArgumentException(name + ": dtype " + dtype.label() + " is not supported (expected "
                    + allowed.stream().map(DType::label).sorted().toList() + ")");
        return this;
    }

    ArrayRef requireDim(int dim, long expected, String what) {
        if (shape[dim] != expected)
            throw new IllegalArgumentException(name + ": dimension " + dim + " is " + shape[dim] + ", expected "
                    + expected + " (" + what + "); shape " + Arrays.toString(shape));
        return this;
    }

    ArrayRef requireDevice(ArrayRef reference) {
        if (device != reference.device)
            throw new IllegalArgumentException(name + " is on " + where() + " but " + reference.name + " is on "
                    + reference.where() + ": all arguments must be on one device");
        return this;
    }
}
