package org.relabel4j.train.targets;

import org.bytedeco.pytorch.Tensor;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;

/**
 * The batch a training step works on, on the model's device: the loader's batch ({@code host}: boxes, flips,
 * record indices, the loader's pooled targets), the images {@code [B,3,H,W]} with CutMix's box already pasted,
 * the labels int64 {@code [B]}, the step's CutMix (null when this step does not mix), and the class count C.
 * Target sources, target transforms and objectives read it; none of them changes it.
 */
public record StepBatch(Batch host, Tensor images, Tensor labels, CutMix.Mix mix, int classes) {
    /** The batch size B. */
    public int size() {
        return (int) Tensors.shape(labels)[0];
    }

    /** A host array as a tensor on the device of {@code like} (a copy). */
    public static Tensor toDeviceOf(NdArray a, Tensor like) {
        Tensor host = Tensors.fromNdArray(a);
        return like.is_cuda() ? host.to(like.device(), host.scalar_type()) : host;
    }
}
