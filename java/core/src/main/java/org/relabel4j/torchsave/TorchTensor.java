package org.relabel4j.torchsave;

import java.util.Arrays;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * A tensor read from a torch.save file: its element type, shape, and data as a dense C-ordered {@link NdArray}
 * (whatever the saved strides and storage offset were). Every tensor owns its data: tensors that shared a storage
 * in the file are independent copies here (an {@code nn.Parameter} and the tensor it wraps share one).
 */
public final class TorchTensor {
    private final DType dtype;
    private final long[] shape;
    private final boolean requiresGrad;
    private final String location;
    final View view;
    private NdArray data;

    /** Where a tensor's elements are in its storage (read after the whole pickle has been parsed). */
    record View(Storage storage, DType dtype, long offset, long[] shape, long[] stride) {}

    TorchTensor(View view, boolean requiresGrad) {
        this.view = view;
        this.dtype = view.dtype();
        this.shape = view.shape();
        this.requiresGrad = requiresGrad;
        this.location = view.storage().location;
    }

    /** The same tensor with another {@code requires_grad} (what {@code _rebuild_parameter} makes). */
    TorchTensor withRequiresGrad(boolean value) {
        return value == requiresGrad ? this : new TorchTensor(view, value);
    }

    void setData(NdArray data) {
        this.data = data;
    }

    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy); empty for a 0-d tensor. */
    public long[] shape() {
        return shape.clone();
    }

    public long shape(int dim) {
        return shape[dim];
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** The elements, C-contiguous, with this tensor's dtype and shape. */
    public NdArray data() {
        return data;
    }

    /** Whether the tensor was saved with {@code requires_grad=True} (an {@code nn.Parameter} usually is). */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** The device the tensor was saved from, as torch wrote it ({@code cpu}, {@code cuda:0}); data is on the host. */
    public String location() {
        return location;
    }

    @Override
    public String toString() {
        return "TorchTensor(" + dtype.label() + Arrays.toString(shape) + (requiresGrad ? ", requires_grad" : "")
                + (location.equals("cpu") ? "" : ", saved from " + location) + ")";
    }
}
