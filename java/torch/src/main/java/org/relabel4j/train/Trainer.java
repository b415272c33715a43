package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.relabel4j.torch.Torch;

/**
 * {@code relabel train}: one-hot, label smoothing, ReLabel (LabelPooling targets from a label-map store, blended
 * with the label by {@code gt_mix}), CutMix, and the paper's baselines (label cleaning, knowledge distillation),
 * with the released recipes' optimizers and schedules.
 *
 * <p>A run is made of parts (docs/training.md, "Architecture"): the {@link TrainPlan} (every config key, read once),
 * the setup (datasets, store, student, the {@link org.relabel4j.train.objective.Objective} with its target pipeline
 * or teacher, optimizer, loader), the run state (position, best metric, checkpoints and exact resume) and the loop
 * (epochs, steps, schedule, AMP, gradient all-reduce, clipping, validation, metrics, max-steps). This class checks the
 * run directory and puts them together.
 *
 * <p>A run directory holds {@code config.yaml} (the resolved configuration), {@code metrics.jsonl} (a record per
 * logged step and per epoch), {@code checkpoint.rlc} (model, optimizer, loss scale, position; written atomically
 * every {@code util.checkpoint_every} epochs and when {@code util.max_steps} stops a run), {@code model.pth} (the
 * final weights as a torchvision-layout state dict), {@code curves.png} and {@code summary.json}.
 *
 * <p>Resuming continues exactly: every random choice (sample order, augmentation, CutMix) is a function of
 * (seed, epoch, sample or step), so the checkpoint needs no generator state, and a resumed run computes the same
 * losses as an uninterrupted one (on the CPU, bit for bit at the same thread count).
 *
 * <p>Data parallelism: each rank trains on its shard of every epoch ({@code compute.rank}, {@code
 * compute.world_size}, per-rank batch = batch_size / world_size), and the gradients pass through a
 * {@link GradientReducer} between the backward pass and the update. Given a {@link DataParallel} job (see {@code
 * org.relabel4j.train.dist.Distributed}), the ranks also start from rank 0's weights, report metrics summed over all
 * ranks, validate on a shard each, and take rank 0's batch-norm statistics before validating and checkpointing;
 * only rank 0 writes the run directory (which every rank reads when resuming: share it between nodes).
 */
public final class Trainer {
    /** Config keys a resumed run may change (where things go and how fast, not what is trained). */
    private static final List<String> RESUMABLE = List.of("util.", "compute.num_workers", "compute.threads",
            "compute.device", "compute.rank", "data.train", "data.val", "data.data_path", "data.relabel.path", "model.checkpoint",
            "kd.teacher_checkpoint");

    private final TrainConfig config;
    private final TrainListener listener;
    private final DataParallel parallel;
    private final GradientReducer reducer;

    /** A single process, or a rank whose gradients {@code reducer} averages (null: {@link GradientReducer#NONE}). */
    public Trainer(TrainConfig config, TrainListener listener, GradientReducer reducer) {
        this(config, listener, reducer, null);
    }

    private Trainer(TrainConfig config, TrainListener listener, GradientReducer reducer, DataParallel parallel) {
        this.config = config;
        this.listener = listener == null ? TrainListener.SILENT : listener;
        this.reducer = reducer == null ? GradientReducer.NONE : reducer;
        this.parallel = parallel;
    }

    /**
     * A rank of the data-parallel job {@code parallel}, whose rank and world size must be the config's {@code
     * compute.rank} and {@code compute.world_size}; its gradient reducer is made for the model once it is built.
     */
    public static Trainer distributed(TrainConfig config, TrainListener listener, DataParallel parallel) {
        return new Trainer(config, listener, null, Objects.requireNonNull(parallel, "parallel"));
    }

    /** The run's outcome. */
    public record Result(Path out, int epochsDone, long steps, double lastLoss, Double valTop1, Double valTop5,
            long peakHostBytes, Long peakDeviceBytes, double seconds, boolean stoppedByMaxSteps) {}

    /**
     * The configuration a run resumed from {@code checkpoint} (a checkpoint file or a run directory) trains with: its
     * own, with {@code overrides} of the keys a resumed run may change. A stop at {@code util.max_steps} is not
     * carried over: the resumed run trains to the end unless the overrides set a new limit.
     */
    public static TrainConfig resumeConfig(Path checkpoint, List<String> overrides) throws IOException {
        if (Files.isDirectory(checkpoint)) checkpoint = checkpoint.resolve("checkpoint.rlc");
        if (!Files.isRegularFile(checkpoint)) throw new IllegalArgumentException("--resume: no checkpoint at " + checkpoint);
        JsonNode state = Checkpoint.readState(checkpoint);
        TrainConfig saved = TrainConfig.fromJson(state.get("config").toString());
        for (String o : overrides == null ? List.<String>of() : overrides) {
            String key = o.contains("=") ? o.substring(0, o.indexOf('=')).trim() : o;
            if (RESUMABLE.stream().noneMatch(p -> p.endsWith(".") ? key.startsWith(p) : key.equals(p))
                    && !saved.with(List.of(o)).get(key).equals(saved.get(key))) {  // restating a value is no change
                if (key.equals("compute.world_size"))
                    throw new IllegalArgumentException(checkpoint + " was trained by " + saved.integer("compute.world_size")
                            + " rank(s); resume it with the same world size (the data order and the batch per rank depend on it)");
                throw new IllegalArgumentException("cannot change '" + key + "' when resuming " + checkpoint
                        + " (a resumed run trains what it started with; allowed: " + RESUMABLE + ")");
            }
        }
        List<String> all = new ArrayList<>(List.of("util.max_steps=0"));  // a stop is not carried over
        if (overrides != null) all.addAll(overrides);
        return saved.with(all);
    }

    /** Runs training from scratch, or from {@code resume} (a checkpoint file, or a run directory holding one). */
    public Result run(Path resume) throws IOException {
        Torch.init();
        long t0 = System.nanoTime();
        TrainPlan plan = TrainPlan.of(config);
        Path resumeFile = prepareRunDirectory(plan, resume);
        try (TrainSetup parts = new TrainSetup(plan, listener)) {
            RunState state = new RunState(parts, config, plan.run().startEpoch(), t0);
            if (resumeFile != null) {
                state.resume(resumeFile, parts.loader.batchesPerEpoch());
                listener.log("resumed " + resumeFile + " at epoch " + (state.epoch + 1) + ", batch " + state.batch
                        + ", step " + state.step);
            }
            return new TrainLoop(parts, state, listener, parallel, reducer).run(resumeFile != null, t0);
        }
    }

    /**
     * Checks the run directory against {@code resume} (a new run never overwrites one; a resumed run needs its
     * checkpoint) and the job against the config, and writes config.yaml (rank 0); the checkpoint to resume or null.
     */
    private Path prepareRunDirectory(TrainPlan plan, Path resume) throws IOException {
        Path out = plan.run().out();
        Path checkpointFile = out.resolve("checkpoint.rlc");
        Path resumeFile = resume == null ? null : Files.isDirectory(resume) ? resume.resolve("checkpoint.rlc") : resume;
        if (resumeFile != null && !Files.isRegularFile(resumeFile))
            throw new IllegalArgumentException("--resume: no checkpoint at " + resumeFile);
        if (resumeFile == null && Files.exists(checkpointFile))
            throw new IllegalArgumentException(out + " already holds a run (" + checkpointFile.getFileName()
                    + "); resume it with --resume " + out + " or choose another --out");
        int rank = plan.compute().rank(), world = plan.compute().worldSize();
        if (parallel != null && (parallel.rank() != rank || parallel.worldSize() != world))
            throw new IllegalArgumentException("compute.rank " + rank + " / compute.world_size " + world
                    + " disagree with the job: rank " + parallel.rank() + " of " + parallel.worldSize());
        if (rank == 0) {
            Files.createDirectories(out);
            writeAtomically(out.resolve("config.yaml"), config.toYaml());
            config.notes().forEach(listener::log);  // a rate scaled to the batch, a warmup clamped to the run
        }
        return resumeFile;
    }

    /** Writes a UTF-8 text file atomically: a temporary file next to it, then a rename (also the demo's report). */
    public static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file.toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
