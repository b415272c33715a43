package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.model.Classifier;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.train.optim.Optimizer;

/**
 * Where a run is and what it has seen, and its checkpoint: the position (the epoch and batch the loop goes on
 * from, the global step), the best validation top-1, the totals of a partial epoch; saved with the model, the
 * optimizer and the loss scaler into a {@link Checkpoint} (format {@code relabel4j-train/1}) and restored from
 * one. Every random choice of a run is a function of (seed, epoch, sample or step), so the position is all a
 * resumed run needs to continue exactly.
 */
final class RunState {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Classifier model;
    private final Optimizer optimizer;
    private final GradScaler scaler;
    private final TrainConfig config;
    private final long t0;
    /** The epoch and batch the loop starts at; the steps done so far. */
    int epoch, batch;
    long step;
    Double bestTop1;
    /** The totals of the partial epoch a mid-epoch checkpoint stopped in (null: none). */
    EpochStats partial;

    /** A run at epoch {@code startEpoch} (optim.start_epoch), step 0; {@code t0}: when it started (nanoTime). */
    RunState(TrainSetup setup, TrainConfig config, int startEpoch, long t0) {
        this.model = setup.model;
        this.optimizer = setup.optimizer;
        this.scaler = setup.scaler;
        this.config = config;
        this.t0 = t0;
        this.epoch = startEpoch;
    }

    /**
     * Restores the model, the optimizer, the loss scaler and the position from {@code file}; a checkpoint at the end
     * of an epoch continues at the next one.
     */
    void resume(Path file, int batchesPerEpoch) throws IOException {
        Checkpoint.Loaded ck = Checkpoint.load(file);
        JsonNode st = ck.state();
        epoch = st.get("epoch").asInt();
        batch = st.get("batch").asInt();
        step = st.get("step").asLong();
        if (st.hasNonNull("best_val_top1")) bestTop1 = st.get("best_val_top1").asDouble();
        if (st.hasNonNull("epoch_stats")) partial = EpochStats.fromJson(st.get("epoch_stats"));
        restoreTensors(ck);
        optimizer.loadState(optimizerState(ck), st.get("optimizer_steps").asLong());
        JsonNode sc = st.get("scaler");
        scaler.restore(sc.get("scale").asDouble(), sc.get("good_steps").asInt(), sc.get("skipped").asLong());
        if (batch >= batchesPerEpoch) {
            ++epoch;
            batch = 0;
        }
    }

    /** Saves the run at ({@code atEpoch}, {@code atBatch}), the current step, with an epoch's {@code partial} totals. */
    void save(Path file, int atEpoch, int atBatch, EpochStats partialTotals) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) tensors.put("model." + e.getKey(), e.getValue());
        for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) tensors.put("optim." + e.getKey(), e.getValue());
        ObjectNode state = JSON.createObjectNode();
        state.put("format", "relabel4j-train/1").put("epoch", atEpoch).put("batch", atBatch).put("step", step)
                .put("optimizer_steps", optimizer.steps()).put("elapsed_seconds", (System.nanoTime() - t0) / 1e9);
        double[] s = scaler.state();
        state.putObject("scaler").put("scale", s[0]).put("good_steps", (int) s[1]).put("skipped", (long) s[2]);
        if (bestTop1 != null) state.put("best_val_top1", bestTop1);
        if (partialTotals != null) state.set("epoch_stats", partialTotals.toJson());
        state.put("model", model.name());
        state.set("config", JSON.readTree(config.toJson()));
        Checkpoint.save(file, tensors, state);
    }

    /** Copies the checkpoint's model tensors into the live model, every one matched by name and shape. */
    private void restoreTensors(Checkpoint.Loaded ck) {
        Map<String, Tensor> live = model.stateDict();
        int matched = 0;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (Map.Entry<String, NdArray> e : ck.tensors().entrySet()) {
                String name = e.getKey();
                if (!name.startsWith("model.")) continue;
                Tensor target = live.get(name.substring(6));
                if (target == null)
                    throw new IllegalArgumentException("checkpoint tensor '" + name + "' is not in model " + model.name());
                Tensor src = Tensors.fromNdArray(e.getValue());
                if (!Arrays.equals(Tensors.shape(src), Tensors.shape(target)))
                    throw new IllegalArgumentException("checkpoint tensor '" + name + "' has shape "
                            + Arrays.toString(Tensors.shape(src)) + ", the model's " + Arrays.toString(Tensors.shape(target)));
                target.copy_(src);
                ++matched;
            }
        }
        if (matched != live.size())
            throw new IllegalArgumentException("the checkpoint holds " + matched + " of the " + live.size()
                    + " tensors of model " + model.name());
    }

    private static Map<String, Tensor> optimizerState(Checkpoint.Loaded ck) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, NdArray> e : ck.tensors().entrySet())
            if (e.getKey().startsWith("optim.")) out.put(e.getKey().substring(6), Tensors.fromNdArray(e.getValue()));
        return out;
    }
}
