package org.relabel4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.relabel4j.data.Dataset;
import org.relabel4j.model.Classifier;

/**
 * What a run measures on its validation set at the end of every epoch, chosen with its objective: {@link
 * AccuracyValidation} (top-1/top-5) for the classifiers of today; a multi-label task would measure mAP here. The
 * loop writes the fields into the epoch record, keeps the best score, and hands {@code val_top1}/{@code val_top5}
 * (when present) to the run's result.
 */
public interface Validation {
    /**
     * The epoch's measurement of {@code model} (in eval mode while measuring) on {@code val}. With a data-parallel
     * {@code parallel} job (null: one process) every rank calls this, and every rank gets the job's result.
     */
    Result run(Classifier model, Dataset val, DataParallel parallel);

    /**
     * @param fields the epoch record's validation fields, in order (e.g. val_top1, val_top5, val_images)
     * @param score the number the run's best is tracked by (higher is better)
     */
    record Result(ObjectNode fields, double score) {}
}
