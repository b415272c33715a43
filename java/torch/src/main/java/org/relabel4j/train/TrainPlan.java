package org.relabel4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.train.targets.CutMix;

/**
 * What a run trains, read from its {@link TrainConfig} in one place: every key is read here, into the typed
 * settings of the part that uses it (or refused by the configuration's validation), and the rest of the trainer
 * reads the plan, never the configuration. Settings of a recipe that is off are not part of the plan ({@code
 * relabel}, {@code kd}, {@code cutmix} null). The plan is a value: two runs with equal plans train the same thing
 * the same way (which ConfigKeysTest uses to show that every key changes something).
 *
 * @param data the datasets, the training transform and the loader
 * @param model the student
 * @param targets what the student is trained to predict: the target recipe and the objective
 * @param optim the optimizer and its gradient clipping
 * @param schedule the learning rate per iteration
 * @param compute where and how the steps run
 * @param run the run's length and its outputs
 */
public record TrainPlan(Data data, Model model, Targets targets, Optim optim, LrSchedule schedule, Compute compute,
        Run run) {

    /**
     * @param train the training set's SPEC
     * @param val the validation set's SPEC (null: no validation)
     * @param labelMaps the label-map store (null when neither ReLabel nor label cleaning reads it)
     * @param labelCleaning drop the training images the teacher's maps disagree with (the paper's baseline)
     */
    public record Data(String train, String val, String labelMaps, boolean labelCleaning, int imageSize,
            double rrcMinimum, double jitter, double lighting, boolean hflip, int workers, double cropRatio,
            int valBatchSize) {}

    /** @param classes 0: the store's class count with ReLabel, else the training set's */
    public record Model(String arch, int classes, String checkpoint, ModelOptions options) {}

    /**
     * @param relabel ReLabel's pooled targets (null: one-hot labels)
     * @param labelSmoothing eps of label smoothing (0: off)
     * @param cutmix CutMix (null: off, unless its probability and beta are both positive)
     * @param kd knowledge distillation (null: off), which excludes ReLabel, gt_mix and smoothing
     * @param multilabel multi-label training (train.task multilabel; null: single-label)
     */
    public record Targets(Relabel relabel, double labelSmoothing, CutMix cutmix, Distill kd, MultiLabel multilabel) {
        /** The single-label targets of the recipes before multi-label training. */
        public Targets(Relabel relabel, double labelSmoothing, CutMix cutmix, Distill kd) {
            this(relabel, labelSmoothing, cutmix, kd, null);
        }
    }

    /**
     * Multi-label training ({@code train.task: multilabel}): BCE on multi-hot labels, or with ReLabel on pooled
     * multi-label targets ({@code data.relabel.multilabel_target}: sigmoid or value; {@code data.relabel.threshold}).
     */
    public record MultiLabel(String target, double threshold) {}

    /**
     * LabelPooling of the store's maps ({@code data.relabel.*}).
     *
     * @param residency how the CPU loader holds the store's records ({@code data.relabel.residency}: mapped,
     *     mapped-readahead, ram or auto; see {@code LabelMapStore.Residency})
     * @param dense dense S x S supervision of the pre-pool logits (null: the global target only)
     */
    public record Relabel(String mode, double temperature, String boxOrder, double gtMix, boolean allowMissing,
            String residency, Dense dense) {}

    /**
     * Dense LabelPooling supervision ({@code data.relabel.dense*}).
     *
     * @param weight the dense loss's weight next to the global one
     * @param size S of the S x S targets; 0: the student's dense map size, probed when the run starts
     */
    public record Dense(double weight, int size) {}

    /** The teacher of knowledge distillation ({@code kd.*}). */
    public record Distill(String teacherArch, String teacherCheckpoint, double temperature) {}

    public record Optim(String optimizer, double momentum, boolean nesterov, double beta2, double weightDecay,
            boolean noDecayBnBias, double clipGrad) {}

    public record Compute(long seed, String device, String amp, boolean channelsLast, int threads, int rank,
            int worldSize) {}

    /**
     * @param batchSize the global batch (each rank trains batchSize / worldSize)
     * @param maxSteps stop after this many steps (0: off)
     * @param checkpointEvery epochs between checkpoints (0: none)
     */
    public record Run(Path out, int epochs, int startEpoch, int batchSize, int printFreq, int checkpointEvery,
            int maxSteps) {}

    /** The plan of {@code c}; a dataset that cannot be named (no data.train nor data.data_path) is an error. */
    public static TrainPlan of(TrainConfig c) {
        Compute compute = new Compute(c.integer("compute.seed"), c.string("compute.device"), c.string("compute.amp"),
                c.bool("compute.channels_last"), c.integer("compute.threads"), c.integer("compute.rank"),
                c.integer("compute.world_size"));
        Run run = new Run(Path.of(c.string("util.out")), c.integer("optim.epochs"), c.integer("optim.start_epoch"),
                c.integer("optim.batch_size"), c.integer("util.print_freq"), c.integer("util.checkpoint_every"),
                c.integer("util.max_steps"));
        Optim optim = new Optim(c.string("optim.optimizer"), c.number("optim.momentum"), c.bool("optim.nesterov"),
                c.number("optim.beta2"), c.number("optim.wd.base"), c.bool("optim.wd.no_decay_bn_bias"),
                c.number("optim.clip_grad"));
        return new TrainPlan(data(c), model(c), targets(c, run.epochs(), compute.seed()), optim, LrSchedule.of(c),
                compute, run);
    }

    private static Data data(TrainConfig c) {
        boolean relabel = c.bool("data.relabel.use"), cleaning = c.bool("data.label_cleaning.use");
        return new Data(trainSpec(c), valSpec(c), relabel || cleaning ? c.string("data.relabel.path") : null, cleaning,
                c.integer("data.image_size"), c.number("data.rrc_minimum"), c.number("data.jitter"),
                c.number("data.lighting"), c.bool("data.hflip"), c.integer("compute.num_workers"),
                c.number("data.crop_ratio"), c.integer("util.val_batch_size"));
    }

    /** The built-in models' options; the released configs give BN momentum as 1 - PyTorch's. */
    private static Model model(TrainConfig c) {
        ModelOptions options = ModelOptions.defaults().withBnMomentum(1 - c.number("optim.bn.momentum"))
                .withBnEps(c.number("optim.bn.eps")).withZeroInitResidual(c.bool("model.zero_init_residual"))
                .withWidth(c.integer("model.width")).withStages(c.integer("model.stages"))
                .withBatchNorm(!c.string("model.norm").equals("none"));
        return new Model(c.string("model.arch"), c.integer("model.classes"), c.string("model.checkpoint"), options);
    }

    private static Targets targets(TrainConfig c, int epochs, long seed) {
        Relabel relabel = c.bool("data.relabel.use") ? new Relabel(c.string("data.relabel.mode"),
                c.number("data.relabel.temperature"), c.string("data.relabel.box_order"), c.number("data.relabel.gt_mix"),
                c.bool("data.relabel.allow_missing"), c.string("data.relabel.residency"), c.bool("data.relabel.dense")
                        ? new Dense(c.number("data.relabel.dense_weight"), c.integer("data.relabel.dense_size")) : null)
                : null;
        Distill kd = c.bool("kd.use") ? new Distill(c.string("kd.teacher_arch"), c.string("kd.teacher_checkpoint"),
                c.number("kd.temperature")) : null;
        CutMix cutmix = new CutMix(c.number("data.cutmix.prob"), c.number("data.cutmix.beta"),
                c.integer("data.cutmix.off_epoch"), epochs, seed);
        MultiLabel multilabel = c.string("train.task").equals("multilabel")
                ? new MultiLabel(c.string("data.relabel.multilabel_target"), c.number("data.relabel.threshold")) : null;
        return new Targets(relabel, c.number("optim.label_smoothing"), cutmix.enabled() ? cutmix : null, kd, multilabel);
    }

    /** {@code data.train}, else the {@code train} folder of the ImageNet root {@code data.data_path}. */
    private static String trainSpec(TrainConfig c) {
        String spec = c.string("data.train");
        if (spec != null && !spec.isEmpty()) return spec;
        String root = c.string("data.data_path");
        if (root == null) throw new IllegalArgumentException("set data.train (a dataset SPEC) or data.data_path (an ImageNet root)");
        return Path.of(root, "train").toString();
    }

    /** {@code data.val} (empty: none), else the ImageNet root's {@code val} folder when it exists. */
    private static String valSpec(TrainConfig c) {
        String spec = c.string("data.val");
        if (spec != null) return spec.isEmpty() ? null : spec;
        String root = c.string("data.data_path");
        if (root == null) return null;
        Path dir = Path.of(root, "val");
        return Files.isDirectory(dir) ? dir.toString() : null;
    }
}
