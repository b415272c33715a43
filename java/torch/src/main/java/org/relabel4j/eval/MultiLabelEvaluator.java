package org.relabel4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.EvalTransform;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.model.Classifier;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/**
 * Multi-label evaluation of a classifier ({@code relabel eval --task multilabel}): every image of a {@link
 * MultiLabelDataset} through the evaluation transform of an {@link Evaluator} (resize, center crop, the same
 * settings), the sigmoid of the model's logits as the class probabilities, and {@link MultiLabelMetrics} against
 * the images' label sets. Unreadable images are skipped by the loader (unless strict) and left out of the metrics.
 */
public final class MultiLabelEvaluator {
    private final Evaluator settings;

    /** Evaluates with {@code settings}' size, resize, batch size, workers, device, strictness and log. */
    public MultiLabelEvaluator(Evaluator settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /**
     * The probabilities of the evaluated images ({@code keys[i]}, {@code scores[i][c]} = sigmoid(logit)) and their
     * ground truth ({@code truth[i][c]}), in dataset order.
     */
    public record Scores(List<String> keys, int[] indices, float[][] scores, boolean[][] truth, String model,
            int classes, double seconds) {
        /** The metrics at {@code threshold} (0.5: the convention). */
        public MultiLabelMetrics.Result metrics(double threshold) {
            return MultiLabelMetrics.of(scores, truth, threshold);
        }
    }

    /** Runs {@code model} (moved to the device, eval mode) over {@code dataset}, or the samples of {@code only} (null: all). */
    public Scores run(Classifier model, MultiLabelDataset dataset, int[] only) {
        Objects.requireNonNull(model, "model");
        Torch.init();
        int classes = model.classes();
        if (dataset.classes().size() > classes)
            throw new IllegalArgumentException("the dataset has " + dataset.classes().size() + " classes but the model "
                    + model.name() + " only " + classes);
        org.relabel4j.data.Dataset view = only == null ? dataset
                : new org.relabel4j.data.SubsetDataset(dataset, only, "subset of " + only.length);
        java.util.Map<String, Integer> indexOfKey = new java.util.HashMap<>();
        for (int i = 0; i < view.size(); ++i) indexOfKey.put(view.sample(i).key(), only == null ? i : only[i]);
        Device dev = Evaluator.torchDevice(settings.device());
        model.to(dev);
        model.train(false);
        EvalTransform transform = new EvalTransform(settings.size(), settings.resize(), Normalization.IMAGENET);
        long t0 = System.nanoTime();
        List<String> keys = new ArrayList<>();
        List<Integer> indices = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        List<boolean[]> truths = new ArrayList<>();
        try (NoGradGuard noGrad = new NoGradGuard();
             Loader loader = Loader.builder(view, transform).batchSize(settings.batchSize()).workers(settings.workers())
                     .shuffle(false).strict(settings.strict()).log(settings.log()).build();
             Loader.Epoch epoch = loader.epoch(0)) {
            while (epoch.hasNext()) {
                try (Batch batch = epoch.next(); PointerScope scope = new PointerScope()) {
                    if (batch.size() == 0) continue;
                    Tensor logits = model.forward(BatchTensors.images(batch, dev));
                    long[] shape = Tensors.shape(logits);
                    if (shape.length != 2 || shape[0] != batch.size() || shape[1] != classes)
                        throw new IllegalStateException("model " + model.name() + " returned logits of shape "
                                + java.util.Arrays.toString(shape) + " for " + batch.size() + " images of " + classes + " classes");
                    NdArray host = Tensors.toNdArray(logits.to(ScalarType.Float).sigmoid());
                    java.nio.FloatBuffer values = host.buffer().asFloatBuffer();
                    for (int r = 0; r < batch.size(); ++r) {
                        String key = batch.keys().get(r);
                        int index = indexOfKey.get(key);
                        float[] row = new float[classes];
                        values.get(r * classes, row, 0, classes);
                        boolean[] truth = new boolean[classes];
                        for (int c : dataset.labelSet(index)) {
                            if (c >= classes)
                                throw new IllegalArgumentException("sample " + key + " has class " + c + ", not below "
                                        + classes);
                            truth[c] = true;
                        }
                        keys.add(key);
                        indices.add(index);
                        rows.add(row);
                        truths.add(truth);
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Scores(List.copyOf(keys), indices.stream().mapToInt(Integer::intValue).toArray(),
                rows.toArray(new float[0][]), truths.toArray(new boolean[0][]), model.name(), classes, seconds);
    }
}
