package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Batch;
import org.relabel4j.data.loader.BatchTensors;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.ColorJitter;
import org.relabel4j.data.transform.Lighting;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.Metrics;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Devices;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.model.Classifier;
import org.relabel4j.train.model.ModelOptions;
import org.relabel4j.train.model.Models;
import org.relabel4j.train.model.StateDicts;
import org.relabel4j.train.optim.AdamP;
import org.relabel4j.train.optim.AdamW;
import org.relabel4j.train.optim.Optimizer;
import org.relabel4j.train.optim.Sgd;

/**
 * The training loop of {@code relabel train}: one-hot, label smoothing, ReLabel (LabelPooling targets from a
 * label-map store, blended with the label by {@code gt_mix}), CutMix, and the paper's baselines (label cleaning,
 * knowledge distillation), with the released recipes' optimizers and schedules.
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
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Config keys a resumed run may change (where things go and how fast, not what is trained). */
    private static final List<String> RESUMABLE = List.of("util.", "compute.num_workers", "compute.threads",
            "compute.device", "compute.rank", "data.train", "data.val", "data.data_path", "data.relabel.path", "model.checkpoint",
            "kd.teacher_checkpoint");

    private final TrainConfig config;
    private final TrainListener listener;
    private final DataParallel parallel;
    private GradientReducer reducer;

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
        return new Trainer(config, listener, null, java.util.Objects.requireNonNull(parallel, "parallel"));
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
        Path out = Path.of(config.string("util.out"));
        Path checkpointFile = out.resolve("checkpoint.rlc");
        Path resumeFile = resume == null ? null : Files.isDirectory(resume) ? resume.resolve("checkpoint.rlc") : resume;
        if (resumeFile != null && !Files.isRegularFile(resumeFile))
            throw new IllegalArgumentException("--resume: no checkpoint at " + resumeFile);
        if (resumeFile == null && Files.exists(checkpointFile))
            throw new IllegalArgumentException(out + " already holds a run (" + checkpointFile.getFileName()
                    + "); resume it with --resume " + out + " or choose another --out");
        int rank = config.integer("compute.rank"), world = config.integer("compute.world_size");
        if (parallel != null && (parallel.rank() != rank || parallel.worldSize() != world))
            throw new IllegalArgumentException("compute.rank " + rank + " / compute.world_size " + world
                    + " disagree with the job: rank " + parallel.rank() + " of " + parallel.worldSize());
        if (rank == 0) {
            Files.createDirectories(out);
            writeAtomically(out.resolve("config.yaml"), config.toYaml());
            config.notes().forEach(listener::log);  // a rate scaled to the batch, a warmup clamped to the run
        }

        if (config.integer("compute.threads") > 0) torch.set_num_threads(config.integer("compute.threads"));
        String deviceName = config.string("compute.device");
        Device device = Devices.torchDevice(deviceName);
        boolean cuda = device.is_cuda();
        String amp = config.string("compute.amp");
        long seed = config.integer("compute.seed");
        if (world < 1 || rank < 0 || rank >= world)
            throw new IllegalArgumentException("compute.rank " + rank + " must be in [0, compute.world_size " + world + ")");
        int batchSize = config.integer("optim.batch_size");
        if (batchSize % world != 0)
            throw new IllegalArgumentException("optim.batch_size " + batchSize + " is not divisible by compute.world_size " + world);
        int perRank = batchSize / world;

        // ---- data
        Dataset train = Datasets.open(trainSpec());
        String valSpec = valSpec();
        Dataset val = valSpec == null ? null : Datasets.open(valSpec, train.classes());
        boolean relabel = config.bool("data.relabel.use"), cleaning = config.bool("data.label_cleaning.use");
        boolean kd = config.bool("kd.use");
        LabelMapStore store = relabel || cleaning ? LabelMapStore.open(Path.of(config.string("data.relabel.path"))) : null;
        try {
            int classes = config.integer("model.classes");
            if (classes == 0) classes = relabel ? store.format().classes() : train.classes().size();
            if (classes < train.classes().size())
                throw new IllegalArgumentException("model.classes " + classes + " is less than the "
                        + train.classes().size() + " classes of " + train.description());
            if (relabel && store.format().classes() != classes)
                throw new IllegalArgumentException("the label-map store " + store.path() + " holds "
                        + store.format().classes() + " classes but the model is trained on " + classes);
            if (cleaning) {
                int before = train.size();
                train = LabelCleaning.filter(train, store);
                listener.log(String.format(Locale.ROOT, "label cleaning kept %d of %d training images (%.1f%%)",
                        train.size(), before, 100.0 * train.size() / Math.max(1, before)));
                if (train.size() == 0) throw new IllegalArgumentException("label cleaning left no training images");
            }
            return train(train, val, store, classes, device, cuda, amp, seed, rank, world, perRank, relabel, kd, out,
                    checkpointFile, resumeFile, t0);
        } finally {
            if (store != null) store.close();
        }
    }

    private String trainSpec() {
        String spec = config.string("data.train");
        if (spec != null && !spec.isEmpty()) return spec;
        String root = config.string("data.data_path");
        if (root == null) throw new IllegalArgumentException("set data.train (a dataset SPEC) or data.data_path (an ImageNet root)");
        return Path.of(root, "train").toString();
    }

    private String valSpec() {
        String spec = config.string("data.val");
        if (spec != null) return spec.isEmpty() ? null : spec;
        String root = config.string("data.data_path");
        if (root == null) return null;
        Path dir = Path.of(root, "val");
        return Files.isDirectory(dir) ? dir.toString() : null;
    }

    private Result train(Dataset train, Dataset val, LabelMapStore store, int classes, Device device, boolean cuda,
            String amp, long seed, int rank, int world, int perRank, boolean relabel, boolean kd, Path out,
            Path checkpointFile, Path resumeFile, long t0) throws IOException {
        int epochs = config.integer("optim.epochs");
        int size = config.integer("data.image_size");
        boolean ampOn = !amp.equals("off");
        if (ampOn && !torch.is_autocast_available(cuda ? DeviceType.CUDA : DeviceType.CPU))
            throw new IllegalArgumentException("compute.amp " + amp + " is not available on " + config.string("compute.device"));
        ScalarType ampType = amp.equals("fp16") ? ScalarType.Half : ScalarType.BFloat16;
        GradScaler scaler = new GradScaler(amp.equals("fp16"), 65536, 2000);

        Classifier model = Models.build(config.string("model.arch"), classes, modelOptions().withSeed(seed));
        Classifier teacher = null;
        Tensor records = null;
        Optimizer optimizer = null;
        try {
            if (config.string("model.checkpoint") != null)
                listener.log(StateDicts.load(model, Path.of(config.string("model.checkpoint")), true).summary());
            model.to(device);
            if (kd) {
                if (config.string("kd.teacher_arch") == null)
                    throw new IllegalArgumentException("kd.use needs kd.teacher_arch (an architecture or a TorchScript file)");
                teacher = config.string("kd.teacher_checkpoint") == null
                        ? Models.build(config.string("kd.teacher_arch"), classes, modelOptions())
                        : Models.load(config.string("kd.teacher_arch"), Path.of(config.string("kd.teacher_checkpoint")), classes);
                if (config.string("kd.teacher_checkpoint") == null && !Models.isTorchScript(config.string("kd.teacher_arch")))
                    listener.log("warning: kd.use without kd.teacher_checkpoint distills from an untrained teacher");
                teacher.to(device);
                teacher.train(false);
            }
            TensorVector parameters = model.parameters();
            optimizer = optimizer(parameters);
            LrSchedule schedule = LrSchedule.of(config);
            CutMix cutmix = new CutMix(config.number("data.cutmix.prob"), config.number("data.cutmix.beta"),
                    config.integer("data.cutmix.off_epoch"), epochs, seed);
            LabelPooling pooling = relabel ? pooling(classes) : null;

            Loader.Builder lb = Loader.builder(train, transform(size)).batchSize(perRank)
                    .workers(Math.max(1, config.integer("compute.num_workers"))).seed(seed).shuffle(true)
                    .dropLast(true).shard(rank, world).log(listener::log);
            boolean poolOnDevice = relabel && cuda;
            if (relabel) lb.labelMaps(store, poolOnDevice ? null : pooling, config.bool("data.relabel.allow_missing"));
            if (poolOnDevice) records = store.recordsTensor().to(device, ScalarType.Byte);
            try (Loader loader = lb.build()) {
                int batches = loader.batchesPerEpoch();
                if (batches == 0)
                    throw new IllegalArgumentException("the training set's " + train.size() + " images (rank " + rank
                            + " of " + world + ") make no full batch of " + perRank);
                // ---- position
                int startEpoch = config.integer("optim.start_epoch"), startBatch = 0;
                long step = 0;
                Double bestTop1 = null;
                EpochStats resumedStats = null;
                if (resumeFile != null) {
                    Checkpoint.Loaded ck = Checkpoint.load(resumeFile);
                    JsonNode st = ck.state();
                    startEpoch = st.get("epoch").asInt();
                    startBatch = st.get("batch").asInt();
                    step = st.get("step").asLong();
                    if (st.hasNonNull("best_val_top1")) bestTop1 = st.get("best_val_top1").asDouble();
                    if (st.hasNonNull("epoch_stats")) resumedStats = EpochStats.fromJson(st.get("epoch_stats"));
                    restore(ck, model, optimizer, scaler, st);
                    if (startBatch >= batches) {
                        ++startEpoch;
                        startBatch = 0;
                    }
                    listener.log("resumed " + resumeFile + " at epoch " + (startEpoch + 1) + ", batch " + startBatch
                            + ", step " + step);
                }
                boolean chief = rank == 0;
                if (resumeFile != null && chief) MetricsLog.truncateAfter(out.resolve("metrics.jsonl"), step);
                List<Tensor> buffers = buffers(model);
                if (parallel != null) {
                    List<Tensor> all = new ArrayList<>(buffers);
                    List<Tensor> trainable = new ArrayList<>();
                    for (long i = 0; i < parameters.size(); ++i) {
                        Tensor p = new Tensor(parameters.get(i));  // a handle of our own, not one into the vector
                        all.add(p);
                        if (p.requires_grad()) trainable.add(p);
                    }
                    parallel.broadcastFromRank0(all);  // every rank starts from rank 0's weights
                    reducer = parallel.gradientReducer(trainable);
                }
                listener.log(String.format(Locale.ROOT,
                        "training %s (%d classes) on %s: %s; %d images, %d batches of %d per epoch%s, %d epochs; targets: %s",
                        model.name(), classes, Devices.name(cuda ? Tensors.deviceIndex(records != null ? records
                                : model.parameters().get(0)) : -1), train.description(), train.size(), batches, perRank,
                        world > 1 ? " (rank " + rank + " of " + world + ")" : "", epochs, describeTargets(relabel, kd)));
                int maxSteps = config.integer("util.max_steps"), printFreq = Math.max(1, config.integer("util.print_freq"));
                if (maxSteps > 0 && step >= maxSteps)
                    throw new IllegalArgumentException("util.max_steps " + maxSteps + " is already reached: the checkpoint "
                            + resumeFile + " is at step " + step);
                double lastLoss = Double.NaN;
                Double lastTop1 = null, lastTop5 = null;
                boolean stopped = false;
                int epochsDone = startEpoch;
                try (MetricsLog log = chief ? new MetricsLog(out.resolve("metrics.jsonl"), resumeFile != null) : null) {
                    for (int epoch = startEpoch; epoch < epochs && !stopped; ++epoch) {
                        model.train(true);
                        listener.epochStarted(epoch, epochs, startBatch, batches);
                        EpochStats es = startBatch > 0 && resumedStats != null ? resumedStats : new EpochStats();
                        try (Loader.Epoch it = loader.epoch(epoch, startBatch)) {
                            for (int b = startBatch; b < batches; ++b) {
                                long tData = System.nanoTime();
                                double lr = schedule.at(epoch, b, batches);
                                StepResult r;
                                try (Batch batch = it.next()) {
                                    long tCompute = System.nanoTime();
                                    int n = batch.size();
                                    try (PointerScope scope = new PointerScope()) {
                                        r = step(batch, model, teacher, optimizer, scaler, cutmix, pooling, records,
                                                store, classes, device, ampOn, ampType, epoch, step, lr);
                                        if (parallel != null) {  // the step's loss and accuracy over all ranks
                                            double[] sums = {r.loss * n, r.correct, n};
                                            parallel.allReduceSum(sums);
                                            n = (int) sums[2];
                                            r = new StepResult(sums[0] / Math.max(1, n), (int) sums[1]);
                                        }
                                    } catch (RuntimeException e) {
                                        throw parallel == null ? e : parallel.explain(e, step);
                                    }
                                    long tEnd = System.nanoTime();
                                    es.add(n, r, tCompute - tData, tEnd - tCompute);
                                    if (log != null && (step % printFreq == 0 || b == batches - 1)) {
                                        ObjectNode rec = log.record("step").put("epoch", epoch).put("batch", b)
                                                .put("step", step).put("loss", r.loss).put("lr", lr)
                                                .put("top1", 100.0 * r.correct / Math.max(1, n))
                                                .put("images_per_s", n / ((tEnd - tData) / 1e9))
                                                .put("data_ms", (tCompute - tData) / 1e6)
                                                .put("compute_ms", (tEnd - tCompute) / 1e6)
                                                .put("rss_mb", MemoryStats.rssBytes() / 1048576.0);
                                        if (Double.isFinite(reducer.lastWaitMillis()))
                                            rec.put("allreduce_ms", reducer.lastWaitMillis());
                                        if (scaler.enabled()) rec.put("loss_scale", scaler.scale());
                                        log.write(rec);
                                    }
                                }
                                lastLoss = r.loss;
                                ++step;
                                listener.stepEnded(epoch, b, step, r.loss, lr);
                                if (!Double.isFinite(r.loss) && !scaler.enabled())
                                    throw new IllegalStateException(String.format(Locale.ROOT,
                                            "the loss became %s at epoch %d, step %d (lr %.4g): lower optim.lr.init or "
                                                    + "set optim.clip_grad", r.loss, epoch + 1, step, lr));
                                if (maxSteps > 0 && step >= maxSteps) {
                                    stopped = true;
                                    if (b + 1 < batches && config.integer("util.checkpoint_every") > 0) {
                                        // mid-epoch: the checkpoint keeps the loader position
                                        if (parallel != null) parallel.broadcastFromRank0(buffers);
                                        if (chief) saveCheckpoint(checkpointFile, model, optimizer, scaler, epoch, b + 1,
                                                step, bestTop1, es, t0);
                                        listener.log("stopped at util.max_steps " + maxSteps + " (epoch " + (epoch + 1)
                                                + ", batch " + (b + 1) + " of " + batches + "); checkpoint " + checkpointFile);
                                    }
                                    break;
                                }
                            }
                        }
                        startBatch = 0;
                        listener.epochEnded(epoch);
                        if (stopped && es.steps < batches) break;
                        if (parallel != null) parallel.broadcastFromRank0(buffers);  // rank 0's BN statistics
                        ObjectNode rec = MetricsLog.newRecord("epoch").put("epoch", epoch).put("step", step)
                                .put("train_loss", es.loss / Math.max(1, es.steps))
                                .put("train_top1", 100.0 * es.correct / Math.max(1, es.images))
                                .put("images", es.images).put("epoch_seconds", (es.dataNanos + es.computeNanos) / 1e9)
                                .put("data_seconds", es.dataNanos / 1e9).put("compute_seconds", es.computeNanos / 1e9)
                                .put("images_per_s", es.images / Math.max(1e-9, (es.dataNanos + es.computeNanos) / 1e9))
                                .put("lr", schedule.at(epoch, batches - 1, batches))
                                .put("rss_mb", MemoryStats.rssBytes() / 1048576.0)
                                .put("peak_rss_mb", MemoryStats.peakRssBytes() / 1048576.0);
                        Long dev = MemoryStats.peakDeviceBytes(device);
                        if (dev != null) rec.put("peak_device_mb", dev / 1048576.0);
                        if (scaler.enabled()) rec.put("skipped_steps", scaler.skipped());
                        if (val != null) {
                            Metrics.Accuracy acc = validate(model, val, size, rank, world);
                            lastTop1 = 100 * acc.top1();  // percent, as train_top1
                            lastTop5 = 100 * acc.top5();
                            rec.put("val_top1", lastTop1).put("val_top5", lastTop5).put("val_images", acc.n());
                            if (bestTop1 == null || lastTop1 > bestTop1) bestTop1 = lastTop1;
                            model.train(true);
                        }
                        if (log != null) log.write(rec);
                        listener.log(epochLine(rec));
                        epochsDone = epoch + 1;
                        int every = config.integer("util.checkpoint_every");
                        if (every > 0 && ((epoch + 1) % every == 0 || epoch + 1 == epochs || stopped)) {
                            if (chief) saveCheckpoint(checkpointFile, model, optimizer, scaler, epoch + 1, 0, step,
                                    bestTop1, null, t0);
                            if (stopped) listener.log("stopped at util.max_steps " + maxSteps + " (end of epoch "
                                    + (epoch + 1) + "); checkpoint " + checkpointFile);
                        }
                    }
                }
                boolean complete = epochsDone >= epochs;
                if (complete && chief) StateDicts.save(model, out.resolve("model.pth"));
                if (chief) MetricsLog.plot(out.resolve("metrics.jsonl"), out.resolve("curves.png"));
                Result result = new Result(out, epochsDone, step, lastLoss, lastTop1, lastTop5, MemoryStats.peakRssBytes(),
                        MemoryStats.peakDeviceBytes(device), (System.nanoTime() - t0) / 1e9, !complete);
                if (chief) writeSummary(out.resolve("summary.json"), result, model, classes);
                return result;
            }
        } finally {
            if (records != null) records.close();
            if (optimizer != null) optimizer.close();
            if (teacher != null) teacher.close();
            model.close();
        }
    }

    private record StepResult(double loss, int correct) {}

    /** An epoch's running totals (kept in a mid-epoch checkpoint, so that a resumed epoch reports the whole epoch). */
    private static final class EpochStats {
        long images, correct, steps, dataNanos, computeNanos;
        double loss;

        ObjectNode toJson() {
            return JSON.createObjectNode().put("images", images).put("correct", correct).put("steps", steps)
                    .put("data_nanos", dataNanos).put("compute_nanos", computeNanos).put("loss", loss);
        }

        static EpochStats fromJson(JsonNode n) {
            EpochStats s = new EpochStats();
            s.images = n.get("images").asLong();
            s.correct = n.get("correct").asLong();
            s.steps = n.get("steps").asLong();
            s.dataNanos = n.get("data_nanos").asLong();
            s.computeNanos = n.get("compute_nanos").asLong();
            s.loss = n.get("loss").asDouble();
            return s;
        }

        void add(int n, StepResult r, long data, long compute) {
            images += n;
            correct += r.correct;
            ++steps;
            loss += r.loss;
            dataNanos += data;
            computeNanos += compute;
        }
    }

    /** One optimization step on one batch; every tensor it makes belongs to the caller's PointerScope. */
    private StepResult step(Batch batch, Classifier model, Classifier teacher, Optimizer optimizer, GradScaler scaler,
            CutMix cutmix, LabelPooling pooling, Tensor records, LabelMapStore store, int classes, Device device,
            boolean ampOn, ScalarType ampType, int epoch, long step, double lr) {
        int n = batch.size();
        Tensor loaded = BatchTensors.images(batch, device);
        Tensor images = config.bool("compute.channels_last") ? loaded.contiguous(torch.MemoryFormat.ChannelsLast) : loaded;
        Tensor labels = toDevice(batch.labels(), images);
        long[] shape = Tensors.shape(images);
        CutMix.Mix mix = cutmix.sample(epoch, step, n, (int) shape[2], (int) shape[3]);
        if (mix != null) CutMix.mixImages(images, mix);

        Tensor targets = null, teacherProbs = null;
        if (teacher != null) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                Tensor t = autocast(ampOn, ampType, images.device(), () -> teacher.forward(images));
                teacherProbs = t.to(ScalarType.Float).div(new Scalar(config.number("kd.temperature"))).softmax(1);
            }
        } else {
            Tensor oneHot = oneHot(labels, classes);
            if (pooling != null) {
                Tensor pooled = records != null ? poolOnDevice(batch, pooling, records, store, oneHot)
                        : toDevice(batch.targets(), images);
                targets = Targets.gtMix(pooled, oneHot, config.number("data.relabel.gt_mix"));
            } else {
                targets = oneHot;
            }
            targets = Targets.smooth(targets, config.number("optim.label_smoothing"), classes);
            if (mix != null) targets = CutMix.mixTargets(targets, mix);
        }
        Tensor logits = autocast(ampOn, ampType, images.device(), () -> model.forward(images)).to(ScalarType.Float);
        Tensor loss = teacher != null ? Losses.distillation(logits, teacherProbs, config.number("kd.temperature"))
                : Losses.softTargetCrossEntropy(logits, targets);
        reducer.beforeBackward();
        scaler.scale(loss).backward();
        List<Tensor> grads = new ArrayList<>();
        TensorVector params = model.parameters();
        for (long i = 0; i < params.size(); ++i) {
            Tensor g = params.get(i).grad();
            if (g.defined()) grads.add(g);
        }
        reducer.allReduce(grads);
        if (scaler.unscale(grads)) {
            double clip = config.number("optim.clip_grad");
            if (clip > 0) torch.clip_grad_norm_(params, clip);
            optimizer.step(lr);
        }
        optimizer.zeroGrad();
        double value = loss.item_double();
        int correct;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            correct = (int) logits.argmax(new org.bytedeco.pytorch.LongOptional(1), false).eq(labels).sum().item_long();
        }
        return new StepResult(value, correct);
    }

    /** Pools the batch's targets on the device from the resident records; samples without a map get one-hot rows. */
    private static Tensor poolOnDevice(Batch batch, LabelPooling pooling, Tensor records, LabelMapStore store, Tensor oneHot) {
        NdArray indices = batch.recordIndices();
        boolean missing = false;
        for (long i = 0; i < indices.numel(); ++i) missing |= indices.getLong(i) < 0;
        if (!missing) return BatchTensors.targets(batch, pooling, records, store.format());
        NdArray fixed = NdArray.zeros(indices.dtype(), indices.shape());
        NdArray mask = NdArray.zeros(org.relabel4j.nd.DType.FLOAT32, indices.numel(), 1);
        for (long i = 0; i < indices.numel(); ++i) {
            long r = indices.getLong(i);
            fixed.setLong(i, Math.max(0, r));
            mask.setFloat(i, r < 0 ? 1f : 0f);
        }
        Tensor pooled = pooling.gather(records, store.format(), toDevice(fixed, records), toDevice(batch.boxes(), records),
                toDevice(batch.flips(), records));
        Tensor m = toDevice(mask, records);
        return pooled.mul(m.neg().add(new Scalar(1))).add(oneHot.mul(m));
    }

    private static Tensor oneHot(Tensor labels, int classes) {
        return torch.one_hot(labels.to(ScalarType.Long), classes).to(ScalarType.Float);
    }

    private static Tensor toDevice(NdArray a, Tensor like) {
        return Targets.toDeviceOf(a, like);
    }

    /** Runs {@code body} with LibTorch autocast on the device (bf16 or fp16), when on. */
    private static Tensor autocast(boolean on, ScalarType type, Device device, java.util.function.Supplier<Tensor> body) {
        if (!on) return body.get();
        DeviceType dt = device.is_cuda() ? DeviceType.CUDA : DeviceType.CPU;
        boolean was = torch.is_autocast_enabled(dt);
        ScalarType wasType = torch.get_autocast_dtype(dt);
        boolean cache = torch.is_autocast_cache_enabled();
        torch.set_autocast_cache_enabled(false);
        torch.set_autocast_dtype(dt, type);
        torch.set_autocast_enabled(dt, true);
        try {
            return body.get();
        } finally {
            torch.set_autocast_enabled(dt, was);
            torch.set_autocast_dtype(dt, wasType);
            torch.set_autocast_cache_enabled(cache);
        }
    }

    /** The built-in models' options; the released configs give BN momentum as 1 - PyTorch's. */
    private ModelOptions modelOptions() {
        return ModelOptions.defaults().withBnMomentum(1 - config.number("optim.bn.momentum"))
                .withBnEps(config.number("optim.bn.eps")).withZeroInitResidual(config.bool("model.zero_init_residual"))
                .withWidth(config.integer("model.width")).withStages(config.integer("model.stages"))
                .withBatchNorm(!config.string("model.norm").equals("none"));
    }

    private Optimizer optimizer(TensorVector parameters) {
        double wd = config.number("optim.wd.base");
        boolean noDecay = config.bool("optim.wd.no_decay_bn_bias");
        double beta2 = config.number("optim.beta2");
        return switch (config.string("optim.optimizer").toLowerCase(Locale.ROOT)) {
            case "sgd" -> new Sgd(parameters, config.number("optim.momentum"), config.bool("optim.nesterov"), wd, noDecay);
            case "adamw" -> new AdamW(parameters, config.number("optim.momentum"), beta2, 1e-8, wd, noDecay);
            case "adamp" -> new AdamP(parameters, config.number("optim.momentum"), beta2, 1e-8, wd,
                    config.bool("optim.nesterov"), noDecay);
            default -> throw new IllegalArgumentException("unknown optimizer " + config.string("optim.optimizer"));
        };
    }

    private LabelPooling pooling(int classes) {
        String mode = config.string("data.relabel.mode");
        return LabelPooling.builder(classes).softmax(true)
                .mode(mode.equals("probs") ? LabelPooling.Mode.PROBS : LabelPooling.Mode.LOGITS)
                .boxOrder(config.string("data.relabel.box_order").equals("official") ? LabelPooling.BoxOrder.OFFICIAL
                        : LabelPooling.BoxOrder.CORRECT)
                .temperature((float) config.number("data.relabel.temperature")).warnings(listener::log).build();
    }

    private TrainTransform transform(int size) {
        double jitter = config.number("data.jitter"), lighting = config.number("data.lighting");
        return new TrainTransform(size, new RandomResizedCrop(config.number("data.rrc_minimum"), 1.0, 3.0 / 4, 4.0 / 3),
                config.bool("data.hflip"), jitter > 0 ? new ColorJitter((float) jitter, (float) jitter, (float) jitter) : null,
                lighting > 0 ? Lighting.imagenet((float) lighting) : null, Normalization.IMAGENET);
    }

    /** Top-1/top-5 on the validation set; with several ranks, each evaluates every world-th image and they sum. */
    private Metrics.Accuracy validate(Classifier model, Dataset val, int size, int rank, int world) {
        Dataset mine = val;
        if (parallel != null && world > 1) {
            int[] shard = new int[(val.size() - rank + world - 1) / world];
            for (int i = rank, j = 0; i < val.size(); i += world, ++j) shard[j] = i;
            mine = new org.relabel4j.data.SubsetDataset(val, shard, "rank " + rank + " of " + world);
        }
        Metrics.Accuracy acc = new Metrics.Accuracy(0, 0, 0);
        if (mine.size() > 0) {
            Evaluator evaluator = Evaluator.builder().size(size).cropPct(config.number("data.crop_ratio"))
                    .batchSize(config.integer("util.val_batch_size")).workers(Math.max(1, config.integer("compute.num_workers")))
                    .device(config.string("compute.device")).log(listener::log).build();
            acc = Metrics.accuracy(evaluator.run(model, mine).predictions());
        }
        if (parallel == null) return acc;
        double[] sums = {acc.n(), acc.top1Correct(), acc.top5Correct()};
        parallel.allReduceSum(sums);
        return new Metrics.Accuracy((int) sums[0], (int) sums[1], (int) sums[2]);
    }

    /**
     * The model's buffers (batch-norm running statistics): its state-dict entries that are not parameters, as handles
     * of their own (a state dict's tensors point into dictionaries that are freed with it), sharing the storage.
     */
    private static List<Tensor> buffers(Classifier model) {
        List<Tensor> out = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {  // keeps the dictionaries alive while we copy
            Map<String, Tensor> params = model.namedParameters();
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                if (params.containsKey(e.getKey())) continue;
                Tensor own = new Tensor(e.getValue());
                own.retainReference();  // outlives the scope (a handle per buffer, kept for the run)
                out.add(own);
            }
        }
        return out;
    }

    private static String describeTargets(boolean relabel, boolean kd) {
        return kd ? "knowledge distillation" : relabel ? "ReLabel (LabelPooling)" : "one-hot";
    }

    private static String epochLine(ObjectNode rec) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d: loss %.4f, train top-1 %.2f%%, %.1f img/s (data %.1fs, compute %.1fs)",
                rec.get("epoch").asInt() + 1, rec.get("train_loss").asDouble(), rec.get("train_top1").asDouble(),
                rec.get("images_per_s").asDouble(), rec.get("data_seconds").asDouble(), rec.get("compute_seconds").asDouble()));
        if (rec.has("val_top1"))
            sb.append(String.format(Locale.ROOT, "; val top-1 %.2f%%, top-5 %.2f%%", rec.get("val_top1").asDouble(),
                    rec.get("val_top5").asDouble()));
        sb.append(String.format(Locale.ROOT, "; peak RSS %.0f MB", rec.get("peak_rss_mb").asDouble()));
        if (rec.has("peak_device_mb")) sb.append(String.format(Locale.ROOT, ", device %.0f MB", rec.get("peak_device_mb").asDouble()));
        return sb.toString();
    }

    // ---------------------------------------------------------------- checkpoints

    private void saveCheckpoint(Path file, Classifier model, Optimizer optimizer, GradScaler scaler, int epoch, int batch,
            long step, Double bestTop1, EpochStats partial, long t0) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) tensors.put("model." + e.getKey(), e.getValue());
        for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) tensors.put("optim." + e.getKey(), e.getValue());
        ObjectNode state = JSON.createObjectNode();
        state.put("format", "relabel4j-train/1").put("epoch", epoch).put("batch", batch).put("step", step)
                .put("optimizer_steps", optimizer.steps()).put("elapsed_seconds", (System.nanoTime() - t0) / 1e9);
        double[] s = scaler.state();
        state.putObject("scaler").put("scale", s[0]).put("good_steps", (int) s[1]).put("skipped", (long) s[2]);
        if (bestTop1 != null) state.put("best_val_top1", bestTop1);
        if (partial != null) state.set("epoch_stats", partial.toJson());
        state.put("model", model.name());
        state.set("config", JSON.readTree(config.toJson()));
        Checkpoint.save(file, tensors, state);
    }

    private static void restore(Checkpoint.Loaded ck, Classifier model, Optimizer optimizer, GradScaler scaler, JsonNode st) {
        Map<String, Tensor> live = model.stateDict();
        Map<String, Tensor> optimState = new LinkedHashMap<>();
        int matched = 0;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (Map.Entry<String, NdArray> e : ck.tensors().entrySet()) {
                String name = e.getKey();
                if (name.startsWith("model.")) {
                    Tensor target = live.get(name.substring(6));
                    if (target == null)
                        throw new IllegalArgumentException("checkpoint tensor '" + name + "' is not in model " + model.name());
                    Tensor src = Tensors.fromNdArray(e.getValue());
                    if (!java.util.Arrays.equals(Tensors.shape(src), Tensors.shape(target)))
                        throw new IllegalArgumentException("checkpoint tensor '" + name + "' has shape "
                                + java.util.Arrays.toString(Tensors.shape(src)) + ", the model's "
                                + java.util.Arrays.toString(Tensors.shape(target)));
                    target.copy_(src);
                    ++matched;
                } else if (name.startsWith("optim.")) {
                    optimState.put(name.substring(6), Tensors.fromNdArray(e.getValue()));
                }
            }
        }
        if (matched != live.size())
            throw new IllegalArgumentException("the checkpoint holds " + matched + " of the " + live.size()
                    + " tensors of model " + model.name());
        optimizer.loadState(optimState, st.get("optimizer_steps").asLong());
        JsonNode sc = st.get("scaler");
        scaler.restore(sc.get("scale").asDouble(), sc.get("good_steps").asInt(), sc.get("skipped").asLong());
    }

    private void writeSummary(Path file, Result r, Classifier model, int classes) throws IOException {
        ObjectNode s = JSON.createObjectNode();
        s.put("model", model.name()).put("classes", classes).put("epochs_done", r.epochsDone()).put("steps", r.steps())
                .put("last_loss", r.lastLoss()).put("seconds", r.seconds()).put("stopped_by_max_steps", r.stoppedByMaxSteps())
                .put("peak_host_mb", r.peakHostBytes() / 1048576.0);
        if (r.valTop1() != null) s.put("val_top1", r.valTop1()).put("val_top5", r.valTop5());
        if (r.peakDeviceBytes() != null) s.put("peak_device_mb", r.peakDeviceBytes() / 1048576.0);
        s.put("device", config.string("compute.device")).put("amp", config.string("compute.amp"))
                .put("torch_threads", torch.get_num_threads());
        writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s) + "\n");
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
