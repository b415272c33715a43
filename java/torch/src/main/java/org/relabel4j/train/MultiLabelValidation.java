package org.relabel4j.train;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.MultiLabelEvaluator;
import org.relabel4j.eval.MultiLabelMetrics;
import org.relabel4j.model.Classifier;

/**
 * The validation of multi-label runs ({@code train.task: multilabel}): mAP and F1s in percent ({@code val_map},
 * {@code val_cf1}, {@code val_of1}, {@code val_images}) by the evaluator of {@code relabel eval --task multilabel};
 * the run's best is tracked by mAP. With several ranks, rank r scores images r, r + world, ...; the scores are
 * summed into one table across ranks (mAP is not a sum of per-rank numbers), and every rank computes the metrics.
 */
public final class MultiLabelValidation implements Validation {
    private final MultiLabelEvaluator evaluator;

    /** As {@link AccuracyValidation}. */
    public MultiLabelValidation(int size, double cropPct, int batchSize, int workers, String device, Consumer<String> log) {
        this.evaluator = new MultiLabelEvaluator(Evaluator.builder().size(size).cropPct(cropPct).batchSize(batchSize)
                .workers(workers).device(device).log(log).build());
    }

    @Override
    public Result run(Classifier model, Dataset val, DataParallel parallel) {
        if (!(val instanceof MultiLabelDataset ml))
            throw new IllegalArgumentException("train.task multilabel needs a multi-label validation set (multilist: or "
                    + "coco:), got " + val.description());
        int world = parallel == null ? 1 : parallel.worldSize(), rank = parallel == null ? 0 : parallel.rank();
        int[] shard = new int[Math.max(0, (val.size() - rank + world - 1) / world)];
        for (int i = rank, j = 0; i < val.size(); i += world, ++j) shard[j] = i;
        MultiLabelEvaluator.Scores mine = shard.length > 0 ? evaluator.run(model, ml, world > 1 ? shard : null) : null;
        float[][] scores;
        boolean[][] truth;
        if (parallel == null) {
            scores = mine.scores();
            truth = mine.truth();
        } else {
            int classes = model.classes(), n = val.size();
            double[] table = new double[n * (classes + 2)];  // per image: scored flag, scores, then the truth bits
            int stride = classes + 2;
            if (mine != null)
                for (int r = 0; r < mine.indices().length; ++r) {
                    int i = mine.indices()[r];
                    table[i * stride] = 1;
                    for (int c = 0; c < classes; ++c) table[i * stride + 1 + c] = mine.scores()[r][c];
                }
            parallel.allReduceSum(table);
            java.util.List<float[]> s = new java.util.ArrayList<>();
            java.util.List<boolean[]> t = new java.util.ArrayList<>();
            for (int i = 0; i < n; ++i) {
                if (table[i * stride] == 0) continue;
                float[] row = new float[classes];
                for (int c = 0; c < classes; ++c) row[c] = (float) table[i * stride + 1 + c];
                boolean[] truthRow = new boolean[classes];
                for (int c : ml.labelSet(i)) truthRow[c] = true;
                s.add(row);
                t.add(truthRow);
            }
            scores = s.toArray(new float[0][]);
            truth = t.toArray(new boolean[0][]);
        }
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        if (scores.length == 0) {
            fields.put("val_map", 0.0).put("val_images", 0);
            return new Result(fields, 0);
        }
        MultiLabelMetrics.Result m = MultiLabelMetrics.of(scores, truth, 0.5);
        double map = Double.isNaN(m.map()) ? 0 : 100 * m.map();
        fields.put("val_map", map).put("val_cf1", 100 * m.atThreshold().cf1()).put("val_of1", 100 * m.atThreshold().of1())
                .put("val_images", m.images());
        return new Result(fields, map);
    }
}
