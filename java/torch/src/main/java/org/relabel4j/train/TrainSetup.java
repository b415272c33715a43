package org.relabel4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.function.Consumer;
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
import org.relabel4j.train.objective.DenseTargetObjective;
import org.relabel4j.train.objective.Distillation;
import org.relabel4j.train.objective.Objective;
import org.relabel4j.train.objective.SoftTargetObjective;
import org.relabel4j.train.optim.AdamP;
import org.relabel4j.train.optim.AdamW;
import org.relabel4j.train.optim.Optimizer;
import org.relabel4j.train.optim.Sgd;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.train.objective.MultiLabelBce;
import org.relabel4j.train.targets.LoaderDenseTargets;
import org.relabel4j.train.targets.LoaderPooledTargets;
import org.relabel4j.train.targets.MultiHotTargets;
import org.relabel4j.train.targets.MultiLabelPooledTargets;
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
    /** S of the dense S x S targets (0: dense supervision off). */
    final int denseSize;
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
            denseSize = denseSize();
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
        if (t.multilabel() != null) return multiLabelObjective();
        if (t.kd() != null) return new Distillation(teacher, t.kd().temperature(), autocast);
        TargetSource source = t.relabel() == null ? new OneHotTargets()
                : records != null ? new ResidentPooledTargets(pooling(1), records, store.format()) : new LoaderPooledTargets();
        double gtMix = t.relabel() == null ? 0 : t.relabel().gtMix();
        TargetPipeline global = TargetPipeline.of(source, gtMix, t.labelSmoothing(), t.cutmix());
        if (denseSize == 0) return new SoftTargetObjective(global);
        TargetSource dense = records != null ? new ResidentPooledTargets(pooling(denseSize), records, store.format())
                : new LoaderDenseTargets();
        return new DenseTargetObjective(global, TargetPipeline.of(dense, gtMix, t.labelSmoothing(), t.cutmix()),
                t.relabel().dense().weight());
    }

    /**
     * S of the dense targets: the side of the student's dense logits for a training crop (probed once, in eval
     * mode, without gradients, on a zero image), which data.relabel.dense_size must equal when set; 0 when dense
     * supervision is off.
     */
    private int denseSize() {
        TrainPlan.Relabel r = plan.targets().relabel();
        if (r == null || r.dense() == null) return 0;
        int size = plan.data().imageSize();
        long[] shape;
        model.train(false);
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope();
                org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            Tensor zeros = torch.zeros(new long[] {1, 3, size, size},
                    new org.bytedeco.pytorch.TensorOptions(device).dtype(new org.bytedeco.pytorch.ScalarTypeOptional(
                            ScalarType.Float)));
            shape = org.relabel4j.torch.Tensors.shape(model.forwardWithDense(zeros).dense());
        } catch (UnsupportedOperationException e) {
            throw new IllegalArgumentException("data.relabel.dense needs a student with dense logits [B,C,h,w]: "
                    + e.getMessage(), e);
        } finally {
            model.train(true);
        }
        if (shape.length != 4 || shape[2] != shape[3] || shape[2] < 1 || shape[2] > 256)
            throw new IllegalArgumentException("data.relabel.dense: " + model.name() + " gives dense logits "
                    + java.util.Arrays.toString(shape) + " for " + size + " x " + size + " crops; the S x S targets "
                    + "need a square map of side 1 to 256");
        int s = (int) shape[2], want = r.dense().size();
        if (want != 0 && want != s)
            throw new IllegalArgumentException("data.relabel.dense_size " + want + " does not match the student: "
                    + model.name() + " gives " + s + " x " + s + " dense logits for data.image_size " + size
                    + " (set data.relabel.dense_size to " + s + ", or 0 to take the student's map size)");
        listener.log(String.format(Locale.ROOT, "dense supervision: %d x %d LabelPooling targets of the %s's %d x %d "
                + "dense logits, weight %s", s, s, model.name(), s, s, r.dense().weight()));
        return s;
    }

    /**
     * Multi-label BCE (train.task multilabel): on the image-level multi-hot labels, or with ReLabel on the pooled
     * multi-label targets of the store's maps (pooled without softmax), then CutMix.
     */
    private Objective multiLabelObjective() {
        TrainPlan.Targets t = plan.targets();
        if (!(train instanceof MultiLabelDataset ml))
            throw new IllegalArgumentException("train.task multilabel needs a multi-label training set (multilist:FILE or "
                    + "coco:IMAGES_DIR:INSTANCES.json), got " + train.description());
        MultiHotTargets multiHot = new MultiHotTargets(ml, classes);
        TargetSource source = multiHot;
        if (t.relabel() != null) {
            TargetSource pooled = records != null ? new ResidentPooledTargets(pooling(1), records, store.format())
                    : new LoaderPooledTargets();
            MultiLabelPooledTargets.Kind kind = t.multilabel().target().equals("value")
                    ? MultiLabelPooledTargets.Kind.VALUE : MultiLabelPooledTargets.Kind.SIGMOID;
            source = new MultiLabelPooledTargets(pooled, multiHot, kind, t.relabel().temperature(), t.multilabel().threshold());
        }
        return new MultiLabelBce(TargetPipeline.of(source, 0, 0, t.cutmix()), multiHot);
    }

    /** The run's validation, chosen with its objective: top-1/top-5 of the classifier, or mAP for multi-label. */
    private Validation validation() {
        TrainPlan.Data d = plan.data();
        if (plan.targets().multilabel() != null)
            return new MultiLabelValidation(d.imageSize(), d.cropRatio(), d.valBatchSize(), Math.max(1, d.workers()),
                    plan.compute().device(), listener::log);
        return new AccuracyValidation(d.imageSize(), d.cropRatio(), d.valBatchSize(), Math.max(1, d.workers()),
                plan.compute().device(), listener::log);
    }

    /** The LabelPooling of data.relabel.* (softmax targets, S x S: 1 for the global targets). */
    private LabelPooling pooling(int outputSize) {
        TrainPlan.Relabel r = plan.targets().relabel();
        // multi-label: the raw pooled scores (mode logits, validated), MultiLabelPooledTargets makes the targets
        boolean multilabel = plan.targets().multilabel() != null;
        Consumer<String> warnings = multilabel ? m -> {} : listener::log;
        return LabelPooling.builder(classes).softmax(!multilabel).outputSize(outputSize)
                .mode(r.mode().equals("probs") ? LabelPooling.Mode.PROBS : LabelPooling.Mode.LOGITS)
                .boxOrder(r.boxOrder().equals("official") ? LabelPooling.BoxOrder.OFFICIAL : LabelPooling.BoxOrder.CORRECT)
                .temperature(multilabel ? 1f : (float) r.temperature()).warnings(warnings).build();
    }

    /**
     * {@code data.relabel.residency} when the CPU loader pools from the store; readahead when the store is only read
     * in order (copied to the GPU whole, or scanned by label cleaning).
     */
    private LabelMapStore.Residency storeResidency(TrainPlan plan) {
        TrainPlan.Relabel r = plan.targets().relabel();
        if (r == null || device.is_cuda()) return LabelMapStore.Residency.MAPPED_READAHEAD;
        return LabelMapStore.Residency.parse(r.residency());
    }

    /** This rank's shard of every epoch; with ReLabel on the CPU the workers pool each crop's target. */
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
        if (r != null) lb.labelMaps(store, records != null ? null : pooling(1), r.allowMissing());
        if (denseSize > 0 && records == null) lb.densePooling(pooling(denseSize));
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
