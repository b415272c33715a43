package org.relabel4j.train;

/** What a training run reports as it goes (the CLI draws a progress bar and prints lines from these). */
public interface TrainListener {
    /** A line for the log (run start, resumes, warnings, epoch summaries). */
    default void log(String line) {}

    /** An epoch starts at batch {@code first} of {@code batches} (first > 0 when a run resumes mid-epoch). */
    default void epochStarted(int epoch, int epochs, int first, int batches) {}

    /** A step ended: its batch index in the epoch, loss and learning rate. */
    default void stepEnded(int epoch, int batch, long step, double loss, double lr) {}

    /** An epoch ended (its training part); validation may follow. */
    default void epochEnded(int epoch) {}

    /** A listener that reports nothing. */
    TrainListener SILENT = new TrainListener() {};
}
