package org.relabel4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.loader.Loader;
import org.relabel4j.data.transform.ColorJitter;
import org.relabel4j.data.transform.Lighting;
import org.relabel4j.data.transform.Normalization;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;
import org.relabel4j.model.StateDicts;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Devices;
import org.relabel4j.train.objective.Autocast;
import org.relabel4j.train.objective.Distillation;
import org.relabel4j.train.objective.Objective;
import org.relabel4j.train.objective.SoftTargetObjective;
import org.relabel4j.train.optim.AdamP;
import org.relabel4j.train.optim.AdamW;
import org.relabel4j.train.optim.Optimizer;
import org.relabel4j.train.optim.Sgd;
import org.relabel4j.train.targets.LoaderPooledTargets;
import org.relabel4j.train.targets.OneHotTargets;
import org.relabel4j.train.targets.ResidentPooledTargets;
import org.relabel4j.train.targets.TargetPipeline;
import org.relabel4j.train.targets.TargetSource;

/**
 * The parts of a run, built from its {@link TrainPlan}: the datasets (label cleaning applied), the label-map store
 * when something reads it, the student on its device, the objective (and a distillation teacher), the optimizer,
 * the loader, and on a GPU the store's records resident in device memory. Closing releases them in reverse order;
 * a failure while building releases what was built.
 */
final class TrainSetup implements AutoCloseable {
    final TrainPlan plan;
    final Device device;
    final Autocast autocast;
    final int perRank;
    final Dataset train, val;
    final int classes;
    final Classifier model;
    final Objective objective;
    /** How the epochs are measured (null without a validation set). */
    final Validation validation;
    final Optimizer optimizer;
    /** fp16's dynamic loss scaling (disabled otherwise). */
    final GradScaler scaler;
    final Loader loader;
    /** The store's records on the device (null unless ReLabel pools on a GPU); for the log's device name. */
    final Tensor records;
    private final TrainListener listener;
    private final Deque<AutoCloseable> opened = new ArrayDeque<>();
    /** The label-map store, open when ReLabel or label cleaning reads it (else null). */
    private final LabelMapStore store;
    private Classifier teacher;

    /** Builds every part; {@code listener} receives the setup's log lines (label cleaning, checkpoint loading). */
    TrainSetup(TrainPlan plan, TrainListener listener) throws IOException {
        this.plan = plan;
        this.listener = listener;
        TrainPlan.Compute compute = plan.compute();
        if (compute.threads() > 0) torch.set_num_threads(compute.threads());
        device = Devices.torchDevice(compute.device());
        autocast = Autocast.of(compute.amp());
        scaler = new GradScaler(compute.amp().equals("fp16"), 65536, 2000);
        perRank = perRank(plan);
        try {
            Dataset all = Datasets.open(plan.data().train());
            store = plan.data().labelMaps() == null ? null : opened(LabelMapStore.open(Path.of(plan.data().labelMaps()),
                    storeResidency(plan)));
            train = labelCleaning(all);
            val = plan.data().val() == null ? null : Datasets.open(plan.data().val(), train.classes());
            classes = classes();
            checkAutocast();
            model = opened(student());
            teacher = plan.targets().kd() == null ? null : teacher();
            optimizer = opened(optimizer(model));
            records = store != null && plan.targets().relabel() != null && device.is_cuda()
                    ? opened(TensorOps.records(store).to(device, ScalarType.Byte)) : null;
            objective = opened(objective());
            if (teacher != null) opened.remove(teacher);  // the objective owns it now
            loader = opened(loader());
            validation = val == null ? null : validation();
        } catch (IOException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private static int perRank(TrainPlan plan) {
        int rank = plan.compute().rank(), world = plan.compute().worldSize(), batch = plan.run().batchSize();
        if (world < 1 || rank < 0 || rank >= world)
            throw new IllegalArgumentException("compute.rank " + rank + " must be in [0, compute.world_size " + world + ")");
        if (batch % world != 0)
            throw new IllegalArgumentException("optim.batch_size " + batch + " is not divisible by compute.world_size " + world);
        return batch / world;
    }

    /** The training set, filtered by label cleaning when asked. */
    private Dataset labelCleaning(Dataset dataset) {
        if (!plan.data().labelCleaning()) return dataset;
        Dataset kept = LabelCleaning.filter(dataset, store);
        listener.log(String.format(Locale.ROOT, "label cleaning kept %d of %d training images (%.1f%%)", kept.size(),
                dataset.size(), 100.0 * kept.size() / Math.max(1, dataset.size())));
        if (kept.size() == 0) throw new IllegalArgumentException("label cleaning left no training images");
        return kept;
    }

    /** model.classes, else the store's with ReLabel, else the training set's; checked against both. */
    private int classes() {
        boolean relabel = plan.targets().relabel() != null;
        int n = plan.model().classes();
        if (n == 0) n = relabel ? store.format().classes() : train.classes().size();
        if (n < train.classes().size())
            throw new IllegalArgumentException("model.classes " + n + " is less than the " + train.classes().size()
                    + " classes of " + train.description());
        if (relabel && store.format().classes() != n)
            throw new IllegalArgumentException("the label-map store " + store.path() + " holds " + store.format().classes()
                    + " classes but the model is trained on " + n);
        return n;
    }

    private void checkAutocast() {
        if (autocast.on() && !torch.is_autocast_available(device.is_cuda() ? DeviceType.CUDA : DeviceType.CPU))
            throw new IllegalArgumentException("compute.amp " + plan.compute().amp() + " is not available on "
                    + plan.compute().device());
    }

    /** The student, seeded by compute.seed, with model.checkpoint's weights when given, on the device. */
    private Classifier student() throws IOException {
        TrainPlan.Model m = plan.model();
        Classifier c = Models.build(m.arch(), classes, m.options().withSeed(plan.compute().seed()));
        try {
            if (m.checkpoint() != null) listener.log(StateDicts.load(c, Path.of(m.checkpoint()), true).summary());
            c.to(device);
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The distillation teacher, in eval mode on the device (kd.teacher_checkpoint's weights when given). */
    private Classifier teacher() throws IOException {
        TrainPlan.Distill kd = plan.targets().kd();
        if (kd.teacherArch() == null)
            throw new IllegalArgumentException("kd.use needs kd.teacher_arch (an architecture or a TorchScript file)");
        Classifier t = opened(kd.teacherCheckpoint() == null ? Models.build(kd.teacherArch(), classes, plan.model().options())
                : Models.load(kd.teacherArch(), Path.of(kd.teacherCheckpoint()), classes));
        if (kd.teacherCheckpoint() == null && !Models.isTorchScript(kd.teacherArch()))
            listener.log("warning: kd.use without kd.teacher_checkpoint distills from an untrained teacher");
        t.to(device);
        t.train(false);
        return t;
    }

    private Optimizer optimizer(Classifier student) {
        TrainPlan.Optim o = plan.optim();
        var parameters = student.parameters();
        return switch (o.optimizer().toLowerCase(Locale.ROOT)) {
            case "sgd" -> new Sgd(parameters, o.momentum(), o.nesterov(), o.weightDecay(), o.noDecayBnBias());
            case "adamw" -> new AdamW(parameters, o.momentum(), o.beta2(), 1e-8, o.weightDecay(), o.noDecayBnBias());
            case "adamp" -> new AdamP(parameters, o.momentum(), o.beta2(), 1e-8, o.weightDecay(), o.nesterov(),
                    o.noDecayBnBias());
            default -> throw new IllegalArgumentException("unknown optimizer " + o.optimizer());
        };
    }

    /**
     * The run's one objective: distillation from the teacher, or soft-target cross-entropy on the target pipeline
     * (one-hot or ReLabel source, then gt_mix, label smoothing, CutMix). A new objective is chosen here.
     */
    private Objective objective() {
        TrainPlan.Targets t = plan.targets();
        if (t.kd() != null) return new Distillation(teacher, t.kd().temperature(), autocast);
        TargetSource source = t.relabel() == null ? new OneHotTargets()
                : records != null ? new ResidentPooledTargets(pooling(), records, store.format()) : new LoaderPooledTargets();
        double gtMix = t.relabel() == null ? 0 : t.relabel().gtMix();
        return new SoftTargetObjective(TargetPipeline.of(source, gtMix, t.labelSmoothing(), t.cutmix()));
    }

    /** The run's validation, chosen with its objective: top-1/top-5 of the classifier. */
    private Validation validation() {
        TrainPlan.Data d = plan.data();
        return new AccuracyValidation(d.imageSize(), d.cropRatio(), d.valBatchSize(), Math.max(1, d.workers()),
                plan.compute().device(), listener::log);
    }

    /** The LabelPooling of data.relabel.* (softmax targets, 1x1). */
    private LabelPooling pooling() {
        TrainPlan.Relabel r = plan.targets().relabel();
        return LabelPooling.builder(classes).softmax(true)
                .mode(r.mode().equals("probs") ? LabelPooling.Mode.PROBS : LabelPooling.Mode.LOGITS)
                .boxOrder(r.boxOrder().equals("official") ? LabelPooling.BoxOrder.OFFICIAL : LabelPooling.BoxOrder.CORRECT)
                .temperature((float) r.temperature()).warnings(listener::log).build();
    }

    /** This rank's shard of every epoch; with ReLabel on the CPU the workers pool each crop's target. */
    /**
     * {@code data.relabel.residency} when the CPU loader pools from the store; readahead when the store is only read
     * in order (copied to the GPU whole, or scanned by label cleaning).
     */
    private LabelMapStore.Residency storeResidency(TrainPlan plan) {
        TrainPlan.Relabel r = plan.targets().relabel();
        if (r == null || device.is_cuda()) return LabelMapStore.Residency.MAPPED_READAHEAD;
        return LabelMapStore.Residency.parse(r.residency());
    }

    private Loader loader() {
        TrainPlan.Data d = plan.data();
        TrainTransform transform = new TrainTransform(d.imageSize(), new RandomResizedCrop(d.rrcMinimum(), 1.0, 3.0 / 4,
                4.0 / 3), d.hflip(), d.jitter() > 0 ? new ColorJitter((float) d.jitter(), (float) d.jitter(),
                (float) d.jitter()) : null, d.lighting() > 0 ? Lighting.imagenet((float) d.lighting()) : null,
                Normalization.IMAGENET);
        Loader.Builder lb = Loader.builder(train, transform).batchSize(perRank).workers(Math.max(1, d.workers()))
                .seed(plan.compute().seed()).shuffle(true).dropLast(true)
                .shard(plan.compute().rank(), plan.compute().worldSize()).log(listener::log).info(listener::log);
        TrainPlan.Relabel r = plan.targets().relabel();
        if (r != null) lb.labelMaps(store, records != null ? null : pooling(), r.allowMissing());
        Loader built = lb.build();
        if (built.batchesPerEpoch() == 0) {
            built.close();
            throw new IllegalArgumentException("the training set's " + train.size() + " images (rank "
                    + plan.compute().rank() + " of " + plan.compute().worldSize() + ") make no full batch of " + perRank);
        }
        return built;
    }

    private <T extends AutoCloseable> T opened(T resource) {
        opened.push(resource);
        return resource;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Exception e) {
                if (failure == null) failure = new IllegalStateException("closing the run's parts failed", e);
            }
        }
        if (failure != null) throw failure;
    }
}
