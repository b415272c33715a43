package org.relabel4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a long command: a progress bar with rate and ETA on a terminal, else a line with rate and ETA every
 * 10 seconds (logs, CI), else nothing for quick runs.
 */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private final PrintWriter log;
    private final String task;
    private final long total;
    private final long start = System.nanoTime();
    private long lastLine = System.nanoTime();
    private long current;

    private Progress(String task, long total, String unit, PrintWriter log) {
        this.task = task;
        this.total = total;
        this.log = log;
        this.bar = System.console() != null
                ? new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" " + unit, 1)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).showSpeed()
                        .setMaxRenderedLength(120).build()
                : null;
    }

    static Progress start(String task, long total, String unit, PrintWriter log) {
        return new Progress(task, total, unit, log);
    }

    synchronized void stepTo(long done) {
        current = done;
        if (bar != null) {
            bar.stepTo(done);
        } else if (System.nanoTime() - lastLine > Duration.ofSeconds(10).toNanos()) {
            lastLine = System.nanoTime();
            double s = (lastLine - start) / 1e9, rate = done / s;
            log.printf(java.util.Locale.ROOT, "%s: %d/%d (%.1f/s, ETA %s)%n", task, done, total, rate,
                    rate > 0 ? duration((total - done) / rate) : "unknown");
            log.flush();
        }
    }

    /** h:mm:ss */
    static String duration(double seconds) {
        long t = Math.round(Math.max(0, seconds));
        return String.format(java.util.Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    }

    synchronized void step() {
        stepTo(current + 1);
    }

    /** Seconds since the start. */
    double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
