package org.relabel4j.train;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;

/** Training targets [B,C] of the supported recipes, as the released code defines them. */
public final class Targets {
    private Targets() {}

    /** One-hot rows of labels [B] over C classes (host array). */
    public static NdArray oneHot(NdArray labels, int classes) {
        int n = (int) labels.numel();
        NdArray t = NdArray.zeros(DType.FLOAT32, n, classes);
        for (int i = 0; i < n; ++i) {
            long label = labels.getLong(i);
            if (label < 0 || label >= classes)
                throw new IllegalArgumentException("label " + label + " of sample " + i + " is outside [0, " + classes + ")");
            t.setFloat((long) i * classes + label, 1f);
        }
        return t;
    }

    /** Label smoothing as the released smooth_target: t (1 - eps) + eps / C (on soft targets too). */
    public static Tensor smooth(Tensor targets, double eps, int classes) {
        if (eps == 0) return targets;
        return targets.mul(new Scalar(1 - eps)).add(new Scalar(eps / classes));
    }

    /** The ReLabel target blended with the image label: alpha * one-hot + (1 - alpha) * pooled. */
    public static Tensor gtMix(Tensor pooled, Tensor oneHot, double alpha) {
        if (alpha == 0) return pooled;
        return oneHot.mul(new Scalar(alpha)).add(pooled, new Scalar(1 - alpha));
    }

    /** A host array as a tensor on the device of {@code like} (a copy). */
    static Tensor toDeviceOf(NdArray a, Tensor like) {
        Tensor host = Tensors.fromNdArray(a);
        return like.is_cuda() ? host.to(like.device(), host.scalar_type()) : host;
    }
}
