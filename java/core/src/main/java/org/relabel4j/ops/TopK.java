package org.relabel4j.ops;

import java.util.EnumSet;
import org.bytedeco.javacpp.Pointer;
import org.relabel4j.cuda.Cuda;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * Top-k compression of dense teacher logits {@code [B,C,H,W]} (float32, float16 or bfloat16) into label maps: per
 * location the k largest scores, descending, as float16 (default) or float32, and their class ids (uint16 when
 * C <= 65535, else int32), in one pass with no sort and no float copy of the input. Same result as
 * {@code torch.topk(dense, k, dim=1)} (values rounded to nearest even for fp16); equal values keep the lower
 * class id first. NaN or Inf in the input, or a selected score beyond the fp16 range, is an
 * {@link IllegalArgumentException} naming the element (on CUDA: a device flag, see {@link #checkFlags}).
 *
 * <p>Immutable and safe to share between threads; results are new arrays the caller owns.
 */
public final class TopK {
    private static final EnumSet<DType> DENSE_TYPES = EnumSet.of(DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16);

    private final int k;
    private final DType scoreType;
    private final DType indexType;  // null: by the class count
    private final int threads;

    private TopK(int k, DType scoreType, DType indexType, int threads) {
        this.k = k;
        this.scoreType = scoreType;
        this.indexType = indexType;
        this.threads = threads;
    }

    /**
     * @param k          entries kept per location, 1..64
     * @param scoreType  FLOAT16 or FLOAT32
     * @param indexType  UINT16 or INT32, or null for uint16 when C <= 65535 else int32
     * @param threads    CPU worker threads
     */
    public static TopK of(int k, DType scoreType, DType indexType, int threads) {
        if (k < 1 || k > MapFormat.MAX_K)
            throw new IllegalArgumentException("k must be in [1, " + MapFormat.MAX_K + "], got " + k);
        if (scoreType != DType.FLOAT16 && scoreType != DType.FLOAT32)
            throw new IllegalArgumentException("score type must be float16 or float32, got " + scoreType);
        if (indexType != null && indexType != DType.UINT16 && indexType != DType.INT32)
            throw new IllegalArgumentException("index type must be uint16 or int32, got " + indexType);
        if (threads < 1 || threads > 1024) throw new IllegalArgumentException("threads must be in [1, 1024], got " + threads);
        return new TopK(k, scoreType, indexType, threads);
    }

    /** k entries per location as fp16 scores and the smallest index type, one thread. */
    public static TopK of(int k) {
        return of(k, DType.FLOAT16, null, 1);
    }

    /** Entries kept per location. */
    public int k() {
        return k;
    }

    /** Compressed maps on the host: scores and class ids, both {@code [B,k,H,W]}. */
    public record Result(NdArray scores, NdArray indices) {}

    /**
     * Throws when the device flags of a CUDA compression ({@code RELABEL_FLAG_*} bits, read after a synchronization)
     * report NaN/Inf input or a float16 overflow; {@code flags} 0 returns.
     */
    public static void checkFlags(int flags) {
        if ((flags & RelabelNative.FLAG_NONFINITE) != 0)
            throw new IllegalArgumentException("dense: the input holds NaN or Inf values");
        if ((flags & RelabelNative.FLAG_F16_OVERFLOW) != 0)
            throw new IllegalArgumentException("dense: a selected score overflows float16 (max 65504): "
                    + "store float32 scores");
    }

    /**
     * Where {@link #apply(ArrayRef, Output)} writes: memory the caller's library allocates on the input's device
     * (LibTorch: {@code org.relabel4j.torch.TensorOps}).
     */
    public interface Output {
        /** Allocates the scores ({@code dtype}, {@code shape}) on the input's device; returns its address. */
        Pointer scores(DType dtype, long[] shape);

        /** Allocates the class ids ({@code dtype}, {@code shape}) on the input's device; returns its address. */
        Pointer indices(DType dtype, long[] shape);

        /** CUDA only: a zeroed int32 [1] on the device, for the kernel's flags (see {@link #checkFlags}). */
        Pointer flags();

        /** The CUDA stream to queue the kernel on for {@code device} (null: the default stream). */
        Pointer stream(int device);
    }

    /** The index type used for {@code classes} classes. */
    public DType indexTypeFor(int classes) {
        DType t = indexType != null ? indexType : MapFormat.indexTypeFor(classes);
        if (t == DType.UINT16 && classes > 65535)
            throw new IllegalArgumentException("uint16 class ids cannot hold classes = " + classes + " (> 65535)");
        return t;
    }

    /** Compresses host logits {@code dense} {@code [B,C,H,W]} into top-k maps {@code [B,k,H,W]} on the CPU. */
    public Result apply(NdArray dense) {
        ArrayRef d = check(ArrayRef.of("dense", dense));
        long[] out = outShape(d);
        DType it = indexTypeFor((int) d.shape[1]);
        NdArray scores = NdArray.zeros(scoreType, out), indices = NdArray.zeros(it, out);
        NativeStatus.check(RelabelNative.relabel_topk_compress(d.data, d.dtype.nativeCode(), d.shape[0], (int) d.shape[1],
                (int) d.shape[2], (int) d.shape[3], k, new Pointer(scores.buffer()), scoreType.nativeCode(),
                new Pointer(indices.buffer()), it.nativeCode(), threads), "topk_compress");
        return new Result(scores, indices);
    }

    /** {@link #apply(NdArray)} computed on CUDA device {@code device}. */
    public Result applyOnCuda(int device, NdArray dense) {
        ArrayRef h = check(ArrayRef.of("dense", dense));
        Cuda.require(device);
        long[] out = outShape(h);
        DType it = indexTypeFor((int) h.shape[1]);
        long n = out[0] * out[1] * out[2] * out[3];
        try (CudaBuffer d = CudaBuffer.upload(device, dense);
                CudaBuffer s = CudaBuffer.allocate(device, n * scoreType.size());
                CudaBuffer i = CudaBuffer.allocate(device, n * it.size());
                CudaBuffer flags = CudaBuffer.zeros(device, 4)) {
            NativeStatus.check(RelabelNative.relabel_cuda_topk_compress(d.pointer(), h.dtype.nativeCode(), h.shape[0],
                    (int) h.shape[1], (int) h.shape[2], (int) h.shape[3], k, s.pointer(), scoreType.nativeCode(),
                    i.pointer(), it.nativeCode(), flags.pointer(), device, null), "cuda topk_compress");
            Cuda.synchronize(device);
            checkFlags((int) flags.download(DType.INT32, 1).getLong(0));
            return new Result(s.download(scoreType, out), i.download(it, out));
        }
    }

    /**
     * Compresses an array held by another library (see {@link ArrayRef#external}) on its device into the memory
     * {@code out} allocates. On the host the NaN/Inf check has happened when this returns; on CUDA the kernel is
     * queued on {@code out.stream} and reports through {@code out.flags()} (see {@link #checkFlags}).
     */
    public void apply(ArrayRef dense, Output out) {
        ArrayRef d = check(dense);
        long[] shape = outShape(d);
        DType it = indexTypeFor((int) d.shape[1]);
        Pointer scores = out.scores(scoreType, shape), indices = out.indices(it, shape);
        if (d.onHost()) {
            NativeStatus.check(RelabelNative.relabel_topk_compress(d.data, d.dtype.nativeCode(), d.shape[0],
                    (int) d.shape[1], (int) d.shape[2], (int) d.shape[3], k, scores, scoreType.nativeCode(),
                    indices, it.nativeCode(), threads), "topk_compress");
            return;
        }
        NativeStatus.check(RelabelNative.relabel_cuda_topk_compress(d.data, d.dtype.nativeCode(), d.shape[0],
                (int) d.shape[1], (int) d.shape[2], (int) d.shape[3], k, scores, scoreType.nativeCode(),
                indices, it.nativeCode(), out.flags(), d.device, out.stream(d.device)), "cuda topk_compress");
    }

    private ArrayRef check(ArrayRef dense) {
        dense.requireRank(4, "[B,C,H,W]").requireDtype(DENSE_TYPES);
        long c = dense.shape[1];
        if (c > Integer.MAX_VALUE || dense.shape[2] > Integer.MAX_VALUE || dense.shape[3] > Integer.MAX_VALUE)
            throw new IllegalArgumentException("dense: shape too large");
        if (c < k) throw new IllegalArgumentException("dense: k (" + k + ") must be <= classes (" + c + ")");
        if (dense.shape[2] < 1 || dense.shape[3] < 1)
            throw new IllegalArgumentException("dense: height and width must be >= 1");
        indexTypeFor((int) c);
        return dense;
    }

    private long[] outShape(ArrayRef d) {
        return new long[] {d.shape[0], k, d.shape[2], d.shape[3]};
    }
}
