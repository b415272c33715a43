package org.relabel4j.torch;

import java.util.Arrays;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/** Conversions between LibTorch tensors and this library's types. */
public final class Tensors {
    private Tensors() {}

    /** The element type of {@code t}, or null when this library has no equivalent. */
    public static DType dtype(Tensor t) {
        ScalarType s = t.scalar_type().intern();  // JavaCPP returns enum values that need interning
        if (s == ScalarType.Float) return DType.FLOAT32;
        if (s == ScalarType.Half) return DType.FLOAT16;
        if (s == ScalarType.BFloat16) return DType.BFLOAT16;
        if (s == ScalarType.UInt16) return DType.UINT16;
        if (s == ScalarType.Int) return DType.INT32;
        if (s == ScalarType.Long) return DType.INT64;
        if (s == ScalarType.Byte) return DType.UINT8;
        if (s == ScalarType.Bool) return DType.BOOL;
        if (s == ScalarType.Double) return DType.FLOAT64;
        return null;
    }

    /** A readable name of the tensor's scalar type, for messages. */
    public static String dtypeName(Tensor t) {
        DType d = dtype(t);
        return d != null ? d.label() : String.valueOf(t.scalar_type().intern());
    }

    /** LibTorch's scalar type for {@code d}. */
    public static ScalarType scalarType(DType d) {
        switch (d) {
            case FLOAT32: return ScalarType.Float;
            case FLOAT16: return ScalarType.Half;
            case BFLOAT16: return ScalarType.BFloat16;
            case UINT16: return ScalarType.UInt16;
            case INT32: return ScalarType.Int;
            case INT64: return ScalarType.Long;
            case UINT8: return ScalarType.Byte;
            case BOOL: return ScalarType.Bool;
            case FLOAT64: return ScalarType.Double;
            default: throw new IllegalArgumentException(d.toString());
        }
    }

    /** The tensor's sizes. */
    public static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }

    /** The CUDA device index of {@code t}, or -1 for a CPU tensor. */
    public static int deviceIndex(Tensor t) {
        if (!t.is_cuda()) return -1;
        Device d = t.device();
        return d.has_index() ? d.index() : 0;
    }

    /** A new uninitialized tensor on the same device as {@code like}. */
    public static Tensor empty(DType dtype, Tensor like, long... shape) {
        Torch.init();
        TensorOptions options = like.options().dtype(new org.bytedeco.pytorch.ScalarTypeOptional(scalarType(dtype)));
        return torch.empty(shape, options, null);
    }

    /** A CPU tensor holding a copy of {@code array}. */
    public static Tensor fromNdArray(NdArray array) {
        Torch.init();
        TensorOptions options = new TensorOptions(scalarType(array.dtype()));
        try (Tensor view = torch.from_blob(new Pointer(array.buffer()), array.shape(), options)) {
            return view.clone();
        }
    }

    /** A host copy of {@code t} (any device, made contiguous). */
    public static NdArray toNdArray(Tensor t) {
        DType d = dtype(t);
        if (d == null) throw new IllegalArgumentException("unsupported tensor dtype " + t.scalar_type());
        Tensor cpu = t.is_cuda() ? t.cpu() : t;
        Tensor contiguous = cpu.contiguous();
        NdArray out = NdArray.zeros(d, shape(t));
        if (out.nbytes() > 0) {
            Pointer src = contiguous.data_ptr();
            Pointer.memcpy(new Pointer(out.buffer()), src, out.nbytes());
        }
        return out;
    }

    /** LibTorch's current CUDA stream on {@code device} (a cudaStream_t), for queuing our kernels behind its work. */
    public static Pointer currentStream(int device) {
        return org.bytedeco.pytorch.global.torch_cuda.getCurrentCUDAStream((byte) device).stream();
    }

    static String describe(Tensor t) {
        return dtypeName(t) + Arrays.toString(shape(t)) + (t.is_cuda() ? " on cuda:" + deviceIndex(t) : " on cpu");
    }
}
