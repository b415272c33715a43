package org.relabel4j.eval;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.Classifier;

/** Classifiers for tests: logits computed on the host from the image's mean color, no parameters. */
public final class TestClassifiers {
    private TestClassifiers() {}

    /** The mean RGB (0..255, de-normalized from ImageNet normalization) of image b of a [B,3,S,S] batch. */
    public static float[] meanRgb(NdArray images, int b) {
        long s2 = images.shape(2) * images.shape(3);
        float[] rgb = new float[3];
        for (int c = 0; c < 3; ++c) {
            double sum = 0;
            long base = ((long) b * 3 + c) * s2;
            for (long i = 0; i < s2; ++i) sum += images.getFloat(base + i);
            float m = Normalization.IMAGENET.mean()[c], sd = Normalization.IMAGENET.std()[c];
            rgb[c] = (float) ((sum / s2 * sd + m) * 255);
        }
        return rgb;
    }

    /** A classifier whose logits for image b come from {@code logits(meanRgb)}; records its mode and grad mode. */
    public static final class ByColor implements Classifier {
        public interface Logits {
            float[] of(float[] rgb);
        }

        private final int classes;
        private final Logits logits;
        public boolean training = true, gradEnabledInForward = true, moved;
        public int forwards;

        public ByColor(int classes, Logits logits) {
            this.classes = classes;
            this.logits = logits;
        }

        @Override
        public String name() {
            return "by-color";
        }

        @Override
        public int classes() {
            return classes;
        }

        @Override
        public Tensor forward(Tensor images) {
            Torch.init();
            gradEnabledInForward &= GradMode.is_enabled();
            ++forwards;
            NdArray host = Tensors.toNdArray(images);
            int n = (int) host.shape(0);
            float[] out = new float[n * classes];
            for (int b = 0; b < n; ++b) System.arraycopy(logits.of(meanRgb(host, b)), 0, out, b * classes, classes);
            return Tensors.fromNdArray(NdArray.of(out, n, classes));
        }

        @Override
        public Tensor forwardDense(Tensor images) {
            throw new UnsupportedOperationException("no dense logits");
        }

        @Override
        public void train(boolean on) {
            training = on;
        }

        @Override
        public TensorVector parameters() {
            return new TensorVector();
        }

        @Override
        public void to(Device device) {
            moved = true;
        }
    }

    /** Logits = (R, G, B means) placed at classes {@code channelClass[0..2]}, the other classes far below. */
    public static ByColor dominantChannel(int classes, int... channelClass) {
        return new ByColor(classes, rgb -> {
            float[] l = new float[classes];
            for (int c = 0; c < classes; ++c) l[c] = -1000 - c;
            for (int ch = 0; ch < 3; ++ch) l[channelClass[ch]] = rgb[ch];
            return l;
        });
    }

    /** Gray level g = 20 * c + 10 means class c: logits -|c - (g - 10) / 20|. */
    public static ByColor grayLevel(int classes) {
        return new ByColor(classes, rgb -> {
            float estimate = (rgb[0] - 10) / 20f;
            float[] l = new float[classes];
            for (int c = 0; c < classes; ++c) l[c] = -Math.abs(c - estimate);
            return l;
        });
    }
}
