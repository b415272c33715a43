package org.relabel4j.torch;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.data.loader.Batch;

/**
 * A batch on a LibTorch device, for trainers. On a GPU node the label-map store lives in GPU memory once
 * ({@code TensorOps.records(store).to(cuda)}, a uint8 {@code [N, recordSize]} tensor); per batch only the
 * crop boxes, flips and record indices (a few kilobytes) go to the device, and {@link #targets} pools there, so
 * the targets never touch host memory. Loaders for this path are built without a LabelPooling (record indices
 * only), so the CPU does not pool as well.
 *
 * <p>Stateless and thread-safe; the caller owns the tensors returned (scope them, e.g. with a PointerScope) and the
 * batch, which must be open during the call.
 */
public final class BatchTensors {
    private BatchTensors() {}

    /**
     * The batch's LabelPooling targets computed on {@code records}' device from the records resident there
     * (samples without a label map are not supported here: build the loader without allowing missing maps).
     */
    public static Tensor targets(Batch batch, LabelPooling pooling, Tensor records, MapFormat format) {
        Torch.init();
        for (long i = 0; i < batch.size(); ++i) {
            if (batch.recordIndices().getLong(i) < 0)
                throw new IllegalArgumentException("sample '" + batch.keys().get((int) i) + "' has no label map");
        }
        Device device = records.device();
        Tensor indices = toDevice(batch.recordIndices(), device), boxes = toDevice(batch.boxes(), device);
        Tensor flips = toDevice(batch.flips(), device);
        return TensorOps.gather(pooling, records, format, indices, boxes, flips);
    }

    /** The batch's images on {@code device} (uint8 or float32, as the loader produced them). */
    public static Tensor images(Batch batch, Device device) {
        Torch.init();
        return toDevice(batch.images(), device);
    }

    private static Tensor toDevice(NdArray a, Device device) {
        Tensor host = Tensors.fromNdArray(a);
        return device.is_cuda() ? host.to(device, host.scalar_type()) : host;
    }
}
