package org.relabel4j.torch;

import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.NdArray;

/** Small float32 tensors for tests: from values and a shape, and back to values. */
public final class TestTensors {
    private TestTensors() {}

    /** float32 {@code shape} holding {@code values} (row-major), on the CPU. */
    public static Tensor tensor(float[] values, long... shape) {
        return Tensors.fromNdArray(NdArray.of(values).reshape(shape));
    }

    /** The values of {@code t} (detached, contiguous), row-major. */
    public static float[] values(Tensor t) {
        return Tensors.toNdArray(t.detach().contiguous()).toFloatArray();
    }
}
