package org.relabel4j.train;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.SubsetDataset;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.Metrics;
import org.relabel4j.model.Classifier;

/**
 * Top-1/top-5 accuracy in percent ({@code val_top1}, {@code val_top5}, {@code val_images}) by the evaluator of
 * {@code relabel eval} (resize, center crop, the same numbers as evaluating the run's model.pth). With several ranks,
 * rank r evaluates images r, r + world, ... and the counts are summed.
 */
public final class AccuracyValidation implements Validation {
    private final Evaluator evaluator;

    /** {@code size}: the crop side; {@code cropPct}: crop / resized side; the rest as {@link Evaluator.Builder}. */
    public AccuracyValidation(int size, double cropPct, int batchSize, int workers, String device, Consumer<String> log) {
        this.evaluator = Evaluator.builder().size(size).cropPct(cropPct).batchSize(batchSize).workers(workers)
                .device(device).log(log).build();
    }

    @Override
    public Result run(Classifier model, Dataset val, DataParallel parallel) {
        Dataset mine = val;
        int world = parallel == null ? 1 : parallel.worldSize(), rank = parallel == null ? 0 : parallel.rank();
        if (world > 1) {
            int[] shard = new int[(val.size() - rank + world - 1) / world];
            for (int i = rank, j = 0; i < val.size(); i += world, ++j) shard[j] = i;
            mine = new SubsetDataset(val, shard, "rank " + rank + " of " + world);
        }
        Metrics.Accuracy acc = mine.size() > 0 ? Metrics.accuracy(evaluator.run(model, mine).predictions())
                : new Metrics.Accuracy(0, 0, 0);
        if (parallel != null) {
            double[] sums = {acc.n(), acc.top1Correct(), acc.top5Correct()};
            parallel.allReduceSum(sums);
            acc = new Metrics.Accuracy((int) sums[0], (int) sums[1], (int) sums[2]);
        }
        double top1 = 100 * acc.top1(), top5 = 100 * acc.top5();  // percent, as train_top1
        ObjectNode fields = JsonNodeFactory.instance.objectNode().put("val_top1", top1).put("val_top5", top5)
                .put("val_images", acc.n());
        return new Result(fields, top1);
    }
}
