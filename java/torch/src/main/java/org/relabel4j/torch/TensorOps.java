package org.relabel4j.torch;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.PointerConsumer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.ArrayRef;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.MapRecords;
import org.relabel4j.ops.TopK;
import org.relabel4j.store.LabelMapStore;

/**
 * The LibTorch forms of the core ops: {@link LabelPooling} and {@link TopK} on CPU or CUDA tensors (outputs on the
 * inputs' device, CUDA kernels queued on LibTorch's current stream), and a label-map store's records as a tensor.
 * Argument checks and messages are those of the host forms. Stateless and safe to call from any thread (a
 * {@link LabelPooling} instance may be shared, see its class comment); the caller owns every tensor returned.
 */
public final class TensorOps {
    private TensorOps() {}

    /** A tensor argument; a non-contiguous tensor is made contiguous (a copy held as long as the reference). */
    static ArrayRef ref(String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(name + " must not be null");
        DType d = Tensors.dtype(t);
        if (d == null) throw new IllegalArgumentException(name + ": unsupported tensor dtype " + Tensors.dtypeName(t));
        Tensor c = t.is_contiguous() ? null : t.contiguous();
        Tensor data = c != null ? c : t;
        return ArrayRef.external(name, d, Tensors.shape(t), data.data_ptr(), Tensors.deviceIndex(t), c);
    }

    /** A float32 output tensor allocated like {@code like}, on LibTorch's current stream. */
    private static final class PoolOut implements LabelPooling.Output {
        final Tensor like;
        Tensor out;

        PoolOut(Tensor like) {
            this.like = like;
        }

        @Override
        public Pointer allocate(long[] shape) {
            out = Tensors.empty(DType.FLOAT32, like, shape);
            return out.data_ptr();
        }

        @Override
        public Pointer stream(int device) {
            return Tensors.currentStream(device);
        }
    }

    /**
     * {@link LabelPooling#apply(org.relabel4j.nd.NdArray, org.relabel4j.nd.NdArray, org.relabel4j.nd.NdArray,
     * org.relabel4j.nd.NdArray)} on CPU or CUDA tensors ({@code flips} may be null); the output is on their device.
     */
    public static Tensor apply(LabelPooling pooling, Tensor scores, Tensor indices, Tensor boxes, Tensor flips) {
        Torch.init();
        PoolOut out = new PoolOut(scores);
        pooling.apply(ref("scores", scores), ref("indices", indices), ref("boxes", boxes),
                flips == null ? null : ref("flips", flips), out);
        return out.out;
    }

    /**
     * Pools crop i from record {@code recordIndices[i]} of {@code records} (uint8 tensor {@code [N,recordSize]}:
     * e.g. a whole label-map store uploaded once to the GPU); {@code recordIndices} int64 {@code [B]}. All tensors
     * on one device; the maps never leave it.
     */
    public static Tensor gather(LabelPooling pooling, Tensor records, MapFormat format, Tensor recordIndices,
            Tensor boxes, Tensor flips) {
        Torch.init();
        PoolOut out = new PoolOut(boxes);
        pooling.gather(ref("records", records), format, ref("recordIndices", recordIndices), ref("boxes", boxes),
                flips == null ? null : ref("flips", flips), out);
        return out.out;
    }

    /**
     * Compressed maps as tensors on the input's device. For CUDA input the kernel runs asynchronously and NaN/Inf
     * is reported through {@code flags} (int32 [1] on the device, RELABEL_FLAG_* bits): {@link #checkFinite()}
     * synchronizes and throws when it is set. For CPU input the check already happened ({@code flags} is null).
     *
     * @param scores  {@code [B,k,H,W]} scores
     * @param indices {@code [B,k,H,W]} class ids
     * @param flags   the CUDA kernel's flags, or null
     */
    public record TopKTensors(Tensor scores, Tensor indices, Tensor flags) {
        /** Synchronizes with the device (CUDA) and throws IllegalArgumentException when the input was not finite. */
        public void checkFinite() {
            if (flags == null) return;
            TopK.checkFlags((int) Tensors.toNdArray(flags).getLong(0));
        }
    }

    /** {@link TopK#apply(org.relabel4j.nd.NdArray)} on a CPU or CUDA tensor; outputs on its device. */
    public static TopKTensors topk(TopK topk, Tensor dense) {
        Torch.init();
        Tensor[] out = new Tensor[3];
        topk.apply(ref("dense", dense), new TopK.Output() {
            @Override
            public Pointer scores(DType dtype, long[] shape) {
                out[0] = Tensors.empty(dtype, dense, shape);
                return out[0].data_ptr();
            }

            @Override
            public Pointer indices(DType dtype, long[] shape) {
                out[1] = Tensors.empty(dtype, dense, shape);
                return out[1].data_ptr();
            }

            @Override
            public Pointer flags() {
                out[2] = Tensors.empty(DType.INT32, dense, 1);
                out[2].zero_();
                return out[2].data_ptr();
            }

            @Override
            public Pointer stream(int device) {
                return Tensors.currentStream(device);
            }
        });
        return new TopKTensors(out[0], out[1], out[2]);
    }

    /**
     * A CPU uint8 tensor {@code [N, recordSize]} over the store's mapped records (no copy). The tensor keeps the
     * mapping alive ({@link LabelMapStore#pin()}): closing the store while the tensor lives makes the store's methods
     * throw but leaves the file mapped until LibTorch frees the tensor. Reads through it do not check the file for
     * changes by other programs: copy it (e.g. to a device) right away, as training does.
     */
    public static Tensor records(LabelMapStore store) {
        Torch.init();
        MapRecords r = store.records();
        r.checkUnchanged();
        AutoCloseable pin = store.pin();
        try {
            return torch.from_blob(r.base(), new long[] {r.count(), r.format().layout().recordSize()},
                    new Unpin(pin), new TensorOptions(torch.ScalarType.Byte));
        } catch (RuntimeException | Error e) {
            release(pin);
            throw e;
        }
    }

    /** LibTorch's deleter of a records tensor: releases the store's pin when the tensor's memory is freed. */
    private static final class Unpin extends PointerConsumer {
        /** Deleters LibTorch still holds (a JavaCPP callback must stay reachable until it is called). */
        private static final java.util.Set<Unpin> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final AutoCloseable pin;

        Unpin(AutoCloseable pin) {
            super();
            this.pin = pin;
            LIVE.add(this);
        }

        @Override
        public void call(Pointer data) {
            release(pin);
            LIVE.remove(this);
        }
    }

    private static void release(AutoCloseable pin) {
        try {
            pin.close();
        } catch (Exception e) {
            throw new IllegalStateException("releasing a label-map store pin", e);
        }
    }
}
