package org.relabel4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.torch.BatchTensors;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.StateDicts;
import org.relabel4j.store.StoreChangedException;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.Tensors;
import org.relabel4j.train.objective.ModelOutputs;
import org.relabel4j.train.objective.Objective;
import org.relabel4j.train.targets.CutMix;
import org.relabel4j.train.targets.StepBatch;

/**
 * The training loop over a run's parts: epochs of steps from the loader, the learning rate per iteration, one
 * optimization step per batch (CutMix pasted into the images, the student's forward pass under autocast, the
 * objective's loss, the backward pass with fp16 loss scaling, the gradient all-reduce, clipping, the update), the
 * metrics records, validation and checkpoints at epoch ends, and the stop at {@code util.max_steps}. The loop knows
 * the objective only as an {@link Objective}: what is trained is decided in {@link TrainSetup}.
 */
final class TrainLoop {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TrainPlan plan;
    private final TrainSetup parts;
    private final RunState state;
    private final TrainListener listener;
    private final DataParallel parallel;
    private final Path out, checkpointFile;
    private final boolean chief;
    private final int batches, printFreq;
    private final CutMix cutmix;
    private GradientReducer reducer;
    private List<Tensor> buffers;
    private MetricsLog log;
    private double lastLoss = Double.NaN;
    private Double lastTop1, lastTop5;
    /** The last validation mAP of a multi-label run (null otherwise). */
    private Double lastMap;
    private boolean stopped;
    private int epochsDone;

    TrainLoop(TrainSetup parts, RunState state, TrainListener listener, DataParallel parallel, GradientReducer reducer) {
        this.plan = parts.plan;
        this.parts = parts;
        this.state = state;
        this.listener = listener;
        this.parallel = parallel;
        this.reducer = reducer;
        this.out = plan.run().out();
        this.checkpointFile = out.resolve("checkpoint.rlc");
        this.chief = plan.compute().rank() == 0;
        this.batches = parts.loader.batchesPerEpoch();
        this.printFreq = Math.max(1, plan.run().printFreq());
        this.cutmix = plan.targets().cutmix();
    }

    /** Trains from the state's position to the last epoch or the step limit; writes the run's final files. */
    Trainer.Result run(boolean resumed, long t0) throws IOException {
        if (resumed && chief) MetricsLog.truncateAfter(out.resolve("metrics.jsonl"), state.step);
        buffers = buffers(parts.model);
        if (parallel != null) joinJob();
        listener.log(String.format(Locale.ROOT,
                "training %s (%d classes) on %s: %s; %d images, %d batches of %d per epoch%s, %d epochs; targets: %s",
                parts.model.name(), parts.classes, deviceName(), parts.train.description(), parts.train.size(), batches,
                parts.perRank, plan.compute().worldSize() > 1 ? " (rank " + plan.compute().rank() + " of "
                        + plan.compute().worldSize() + ")" : "", plan.run().epochs(), parts.objective.describe()));
        int maxSteps = plan.run().maxSteps();
        if (maxSteps > 0 && state.step >= maxSteps)
            throw new IllegalArgumentException("util.max_steps " + maxSteps + " is already reached: the checkpoint "
                    + checkpointFile + " is at step " + state.step);
        epochsDone = state.epoch;
        try (MetricsLog opened = chief ? new MetricsLog(out.resolve("metrics.jsonl"), resumed) : null) {
            log = opened;
            for (int epoch = state.epoch; epoch < plan.run().epochs() && !stopped; ++epoch) {
                EpochStats es = trainEpoch(epoch);
                if (stopped && es.steps < batches) break;
                endEpoch(epoch, es);
            }
        }
        return finish(t0);
    }

    /** Every rank starts from rank 0's weights; the reducer of the job averages the gradients from now on. */
    private void joinJob() {
        TensorVector parameters = parts.model.parameters();
        List<Tensor> all = new ArrayList<>(buffers);
        List<Tensor> trainable = new ArrayList<>();
        for (long i = 0; i < parameters.size(); ++i) {
            Tensor p = new Tensor(parameters.get(i));  // a handle of our own, not one into the vector
            all.add(p);
            if (p.requires_grad()) trainable.add(p);
        }
        parallel.broadcastFromRank0(all);
        reducer = parallel.gradientReducer(trainable);
    }

    private String deviceName() {
        if (!parts.device.is_cuda()) return Devices.name(-1);
        return Devices.name(Tensors.deviceIndex(parts.records != null ? parts.records : parts.model.parameters().get(0)));
    }

    /** The batches of one epoch from the state's position; sets {@link #stopped} at the step limit. */
    private EpochStats trainEpoch(int epoch) throws IOException {
        parts.model.train(true);
        int first = state.batch;
        listener.epochStarted(epoch, plan.run().epochs(), first, batches);
        EpochStats es = first > 0 && state.partial != null ? state.partial : new EpochStats();
        try (Loader.Epoch it = parts.loader.epoch(epoch, first)) {
            for (int b = first; b < batches && !stopped; ++b) {
                long tData = System.nanoTime();
                double lr = plan.schedule().at(epoch, b, batches);
                EpochStats.Step r;
                try (Batch batch = it.next()) {
                    long tCompute = System.nanoTime();
                    r = step(batch, epoch, lr);
                    long tEnd = System.nanoTime();
                    es.add(r, tCompute - tData, tEnd - tCompute);
                    if (log != null && (state.step % printFreq == 0 || b == batches - 1))
                        logStep(epoch, b, r, lr, tData, tCompute, tEnd);
                } catch (java.io.UncheckedIOException e) {
                    if (!(e.getCause() instanceof StoreChangedException)) throw e;
                    throw storeChanged(e.getCause(), epoch, b, es);
                }
                stepEnded(epoch, b, r.loss(), lr, es);
            }
        }
        state.batch = 0;
        listener.epochEnded(epoch);
        return es;
    }

    /**
     * One optimization step in its own PointerScope, with its loss and accuracy over all ranks; a failed collective
     * is explained by the job.
     */
    private EpochStats.Step step(Batch batch, int epoch, double lr) {
        try (PointerScope scope = new PointerScope()) {
            EpochStats.Step r = optimize(batch, epoch, lr);
            if (parallel == null) return r;
            double[] sums = {r.loss() * r.images(), r.correct(), r.images()};
            parallel.allReduceSum(sums);
            int n = (int) sums[2];
            return new EpochStats.Step(sums[0] / Math.max(1, n), (int) sums[1], n);
        } catch (RuntimeException e) {
            throw parallel == null ? e : parallel.explain(e, state.step);
        }
    }

    /** The step proper; every tensor it makes belongs to the caller's PointerScope. */
    private EpochStats.Step optimize(Batch batch, int epoch, double lr) {
        Tensor loaded = BatchTensors.images(batch, parts.device);
        Tensor images = plan.compute().channelsLast() ? loaded.contiguous(torch.MemoryFormat.ChannelsLast) : loaded;
        Tensor labels = StepBatch.toDeviceOf(batch.labels(), images);
        CutMix.Mix mix = cutmix == null ? null : cutmix.mixBatch(images, epoch, state.step);
        StepBatch sb = new StepBatch(batch, images, labels, mix, parts.classes);
        Objective objective = parts.objective;
        ModelOutputs outputs = ModelOutputs.forward(parts.model, images, objective.outputs(), parts.autocast);
        Tensor loss = objective.loss(sb, outputs);
        reducer.beforeBackward();
        parts.scaler.scale(loss).backward();
        List<Tensor> grads = new ArrayList<>();
        TensorVector params = parts.model.parameters();
        for (long i = 0; i < params.size(); ++i) {
            Tensor g = params.get(i).grad();
            if (g.defined()) grads.add(g);
        }
        reducer.allReduce(grads);
        if (parts.scaler.unscale(grads)) {
            if (plan.optim().clipGrad() > 0) torch.clip_grad_norm_(params, plan.optim().clipGrad());
            parts.optimizer.step(lr);
        }
        parts.optimizer.zeroGrad();
        double value = loss.item_double();
        return new EpochStats.Step(value, (int) objective.correct(sb, outputs), batch.size());
    }

    private void logStep(int epoch, int b, EpochStats.Step r, double lr, long tData, long tCompute, long tEnd)
            throws IOException {
        int n = r.images();
        ObjectNode rec = log.record("step").put("epoch", epoch).put("batch", b).put("step", state.step)
                .put("loss", r.loss()).put("lr", lr).put("top1", 100.0 * r.correct() / Math.max(1, n))
                .put("images_per_s", n / ((tEnd - tData) / 1e9)).put("data_ms", (tCompute - tData) / 1e6)
                .put("compute_ms", (tEnd - tCompute) / 1e6).put("rss_mb", MemoryStats.rssBytes() / 1048576.0);
        if (Double.isFinite(reducer.lastWaitMillis())) rec.put("allreduce_ms", reducer.lastWaitMillis());
        if (parts.scaler.enabled()) rec.put("loss_scale", parts.scaler.scale());
        log.write(rec);
    }

    /**
     * The error that ends a run whose label-map store changed on disk (truncated or rewritten under the loader): the
     * steps done are kept in a checkpoint at batch {@code b} when checkpoints are on, and the message says where.
     */
    private IOException storeChanged(Throwable cause, int epoch, int b, EpochStats es) throws IOException {
        boolean save = chief && plan.run().checkpointEvery() > 0;
        if (save) state.save(checkpointFile, epoch, b, es);
        String where = String.format(Locale.ROOT, "epoch %d, batch %d, step %d", epoch + 1, b, state.step);
        return new IOException(cause.getMessage() + (save ? "; the run stopped at " + where
                + " with its checkpoint saved to " + checkpointFile + ": once the store is restored, continue with "
                + "`relabel train --resume " + out + "`" : "; the run stopped at " + where + " without a checkpoint "
                + "(util.checkpoint_every is 0, or this rank does not write them)"), cause);
    }

    /** After step {@code b}: counts it, stops on a non-finite loss or at util.max_steps (saving mid-epoch). */
    private void stepEnded(int epoch, int b, double loss, double lr, EpochStats es) throws IOException {
        lastLoss = loss;
        ++state.step;
        listener.stepEnded(epoch, b, state.step, loss, lr);
        if (!Double.isFinite(loss) && !parts.scaler.enabled())
            throw new IllegalStateException(String.format(Locale.ROOT, "the loss became %s at epoch %d, step %d (lr %.4g): "
                    + "lower optim.lr.init or set optim.clip_grad", loss, epoch + 1, state.step, lr));
        int maxSteps = plan.run().maxSteps();
        if (maxSteps <= 0 || state.step < maxSteps) return;
        stopped = true;
        if (b + 1 < batches && plan.run().checkpointEvery() > 0) {  // mid-epoch: the checkpoint keeps the loader position
            if (parallel != null) parallel.broadcastFromRank0(buffers);
            if (chief) state.save(checkpointFile, epoch, b + 1, es);
            listener.log("stopped at util.max_steps " + maxSteps + " (epoch " + (epoch + 1) + ", batch " + (b + 1)
                    + " of " + batches + "); checkpoint " + checkpointFile);
        }
    }

    /** The epoch's record (with validation), and its checkpoint when one is due. */
    private void endEpoch(int epoch, EpochStats es) throws IOException {
        if (parallel != null) parallel.broadcastFromRank0(buffers);  // rank 0's BN statistics
        ObjectNode rec = MetricsLog.newRecord("epoch").put("epoch", epoch).put("step", state.step)
                .put("train_loss", es.loss / Math.max(1, es.steps))
                .put("train_top1", 100.0 * es.correct / Math.max(1, es.images))
                .put("images", es.images).put("epoch_seconds", (es.dataNanos + es.computeNanos) / 1e9)
                .put("data_seconds", es.dataNanos / 1e9).put("compute_seconds", es.computeNanos / 1e9)
                .put("images_per_s", es.images / Math.max(1e-9, (es.dataNanos + es.computeNanos) / 1e9))
                .put("lr", plan.schedule().at(epoch, batches - 1, batches))
                .put("rss_mb", MemoryStats.rssBytes() / 1048576.0)
                .put("peak_rss_mb", MemoryStats.peakRssBytes() / 1048576.0);
        Long dev = MemoryStats.peakDeviceBytes(parts.device);
        if (dev != null) rec.put("peak_device_mb", dev / 1048576.0);
        if (parts.scaler.enabled()) rec.put("skipped_steps", parts.scaler.skipped());
        if (parts.val != null) validate(rec);
        if (log != null) log.write(rec);
        listener.log(epochLine(rec));
        epochsDone = epoch + 1;
        int every = plan.run().checkpointEvery();
        if (every > 0 && ((epoch + 1) % every == 0 || epoch + 1 == plan.run().epochs() || stopped)) {
            if (chief) state.save(checkpointFile, epoch + 1, 0, null);
            if (stopped) listener.log("stopped at util.max_steps " + plan.run().maxSteps() + " (end of epoch "
                    + (epoch + 1) + "); checkpoint " + checkpointFile);
        }
    }

    /** The run's validation into {@code rec}; the best score so far kept in the state. */
    private void validate(ObjectNode rec) {
        Validation.Result v = parts.validation.run(parts.model, parts.val, parallel);
        rec.setAll(v.fields());
        lastMap = v.fields().has("val_map") ? v.fields().get("val_map").asDouble() : null;
        lastTop1 = v.fields().has("val_top1") ? v.fields().get("val_top1").asDouble() : null;
        lastTop5 = v.fields().has("val_top5") ? v.fields().get("val_top5").asDouble() : null;
        if (state.bestTop1 == null || v.score() > state.bestTop1) state.bestTop1 = v.score();
        parts.model.train(true);
    }

    /** model.pth (a finished run), curves.png, summary.json; the run's result. */
    private Trainer.Result finish(long t0) throws IOException {
        boolean complete = epochsDone >= plan.run().epochs();
        if (complete && chief) StateDicts.save(parts.model, out.resolve("model.pth"));
        if (chief) MetricsLog.plot(out.resolve("metrics.jsonl"), out.resolve("curves.png"));
        Trainer.Result result = new Trainer.Result(out, epochsDone, state.step, lastLoss, lastTop1, lastTop5,
                MemoryStats.peakRssBytes(), MemoryStats.peakDeviceBytes(parts.device), (System.nanoTime() - t0) / 1e9,
                !complete);
        if (chief) writeSummary(out.resolve("summary.json"), result);
        return result;
    }

    private void writeSummary(Path file, Trainer.Result r) throws IOException {
        ObjectNode s = JSON.createObjectNode();
        s.put("model", parts.model.name()).put("classes", parts.classes).put("epochs_done", r.epochsDone())
                .put("steps", r.steps()).put("last_loss", r.lastLoss()).put("seconds", r.seconds())
                .put("stopped_by_max_steps", r.stoppedByMaxSteps()).put("peak_host_mb", r.peakHostBytes() / 1048576.0);
        if (r.valTop1() != null) s.put("val_top1", r.valTop1()).put("val_top5", r.valTop5());
        if (lastMap != null) s.put("val_map", lastMap);
        if (r.peakDeviceBytes() != null) s.put("peak_device_mb", r.peakDeviceBytes() / 1048576.0);
        s.put("device", plan.compute().device()).put("amp", plan.compute().amp()).put("torch_threads", torch.get_num_threads());
        Trainer.writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s) + "\n");
    }

    /**
     * The model's buffers (batch-norm running statistics): its state-dict entries that are not parameters, as handles
     * of their own (a state dict's tensors point into dictionaries that are freed with it), sharing the storage.
     */
    private static List<Tensor> buffers(Classifier model) {
        List<Tensor> result = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {  // keeps the dictionaries alive while we copy
            Map<String, Tensor> params = model.namedParameters();
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                if (params.containsKey(e.getKey())) continue;
                Tensor own = new Tensor(e.getValue());
                own.retainReference();  // outlives the scope (a handle per buffer, kept for the run)
                result.add(own);
            }
        }
        return result;
    }

    private static String epochLine(ObjectNode rec) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "epoch %d: loss %.4f, train top-1 %.2f%%, %.1f img/s (data %.1fs, compute %.1fs)",
                rec.get("epoch").asInt() + 1, rec.get("train_loss").asDouble(), rec.get("train_top1").asDouble(),
                rec.get("images_per_s").asDouble(), rec.get("data_seconds").asDouble(), rec.get("compute_seconds").asDouble()));
        if (rec.has("val_top1"))
            sb.append(String.format(Locale.ROOT, "; val top-1 %.2f%%, top-5 %.2f%%", rec.get("val_top1").asDouble(),
                    rec.get("val_top5").asDouble()));
        if (rec.has("val_map")) sb.append(String.format(Locale.ROOT, "; val mAP %.2f", rec.get("val_map").asDouble()));
        sb.append(String.format(Locale.ROOT, "; peak RSS %.0f MB", rec.get("peak_rss_mb").asDouble()));
        if (rec.has("peak_device_mb"))
            sb.append(String.format(Locale.ROOT, ", device %.0f MB", rec.get("peak_device_mb").asDouble()));
        return sb.toString();
    }
}
