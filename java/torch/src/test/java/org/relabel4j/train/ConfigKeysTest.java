package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every configuration key is read or refused. For each key of the defaults, {@link #CHANGES} names another value
 * (and the settings it needs to matter, e.g. kd.use for kd.temperature); the test shows that the value changes the
 * run's {@link TrainPlan} (the trainer reads the configuration only through the plan: checked below by scanning the
 * sources), or, for a key marked {@link Kind#REFUSED}, that the other value is refused with an error naming the key.
 * No key is an alias today; one would be listed with the key it stands for, and documented as such in
 * defaults.yaml. A key added to the defaults without an entry here fails the test: add one.
 */
class ConfigKeysTest {
    enum Kind { CHANGES, REFUSED }

    record Change(Kind kind, String value, List<String> context) {}

    static Change to(String value, String... context) {
        return new Change(Kind.CHANGES, value, List.of(context));
    }

    static Change refused(String value) {
        return new Change(Kind.REFUSED, value, List.of());
    }

    static final String[] RELABEL = {"data.relabel.use=true", "data.relabel.path=maps.rlm"};
    static final String[] KD = {"kd.use=true", "kd.teacher_arch=small-cnn"};
    static final String[] CUTMIX = {"data.cutmix.prob=1.0", "data.cutmix.beta=1.0"};

    static final Map<String, Change> CHANGES = new LinkedHashMap<>();

    static {
        CHANGES.put("model.arch", to("resnet18"));
        CHANGES.put("model.classes", to("1000"));
        CHANGES.put("model.checkpoint", to("init.pth"));
        CHANGES.put("model.zero_init_residual", to("true"));
        CHANGES.put("model.width", to("8", "model.arch=small-cnn"));
        CHANGES.put("model.stages", to("2", "model.arch=small-cnn"));
        CHANGES.put("model.norm", to("none", "model.arch=small-cnn"));
        CHANGES.put("data.dataset", refused("cifar10"));
        CHANGES.put("data.data_path", to("/data/other", "data.train=null", "data.data_path=/data/imagenet"));
        CHANGES.put("data.train", to("imagefolder:/data/other"));
        CHANGES.put("data.val", to("imagefolder:/data/val"));
        CHANGES.put("data.image_size", to("160"));
        CHANGES.put("data.rrc_minimum", to("0.35"));
        CHANGES.put("data.crop_ratio", to("0.95"));
        CHANGES.put("data.jitter", to("0.0"));
        CHANGES.put("data.lighting", to("0.0"));
        CHANGES.put("data.hflip", to("false"));
        CHANGES.put("data.cutmix.prob", to("0.5", "data.cutmix.beta=1.0"));
        CHANGES.put("data.cutmix.beta", to("0.5", "data.cutmix.prob=1.0"));
        CHANGES.put("data.cutmix.off_epoch", to("0", CUTMIX));
        CHANGES.put("data.relabel.use", to("true", "data.relabel.path=maps.rlm"));
        CHANGES.put("data.relabel.path", to("other.rlm", RELABEL));
        CHANGES.put("data.relabel.mode", to("probs", RELABEL));
        CHANGES.put("data.relabel.temperature", to("0.5", RELABEL));
        CHANGES.put("data.relabel.box_order", to("official", RELABEL));
        CHANGES.put("data.relabel.gt_mix", to("0.3", RELABEL));
        CHANGES.put("data.relabel.allow_missing", to("true", RELABEL));
        CHANGES.put("data.relabel.residency", to("ram", RELABEL));
        CHANGES.put("data.relabel.multilabel_target", to("value", "train.task=multilabel", "data.relabel.use=true",
                "data.relabel.path=maps.rlm"));
        CHANGES.put("data.relabel.threshold", to("0.5", "train.task=multilabel"));
        CHANGES.put("data.relabel.dense", to("true", RELABEL));
        CHANGES.put("data.relabel.dense_weight", to("1.0", "data.relabel.use=true", "data.relabel.path=maps.rlm",
                "data.relabel.dense=true"));
        CHANGES.put("data.relabel.dense_size", to("7", "data.relabel.use=true", "data.relabel.path=maps.rlm",
                "data.relabel.dense=true"));
        CHANGES.put("data.label_cleaning.use", to("true", "data.relabel.path=maps.rlm"));
        CHANGES.put("optim.optimizer", to("adamw"));
        CHANGES.put("optim.epochs", to("90"));
        CHANGES.put("optim.start_epoch", to("3"));
        CHANGES.put("optim.bn.momentum", to("0.99"));
        CHANGES.put("optim.bn.eps", to("1.e-3"));
        CHANGES.put("optim.batch_size", to("256"));
        CHANGES.put("optim.lr.init", to("0.1"));
        CHANGES.put("optim.lr.decay_type", to("linear"));
        CHANGES.put("optim.lr.step_epochs", to("10", "optim.lr.decay_type=step"));
        CHANGES.put("optim.lr.step_gamma", to("0.5", "optim.lr.decay_type=step"));
        CHANGES.put("optim.lr.scale", to("none", "optim.lr.reference_batch=256"));
        CHANGES.put("optim.lr.reference_batch", to("256"));
        CHANGES.put("optim.warmup.lr", to("0.01"));
        CHANGES.put("optim.warmup.epochs", to("2"));
        CHANGES.put("optim.nesterov", to("false"));
        CHANGES.put("optim.momentum", to("0.8"));
        CHANGES.put("optim.beta2", to("0.99", "optim.optimizer=adamw"));
        CHANGES.put("optim.wd.base", to("1.e-4"));
        CHANGES.put("optim.wd.no_decay_bn_bias", to("true"));
        CHANGES.put("optim.label_smoothing", to("0.1"));
        CHANGES.put("optim.clip_grad", to("1.0"));
        CHANGES.put("kd.use", to("true", "kd.teacher_arch=small-cnn"));
        CHANGES.put("kd.teacher_arch", to("resnet18", KD));
        CHANGES.put("kd.teacher_checkpoint", to("teacher.pth", KD));
        CHANGES.put("kd.temperature", to("4.0", KD));
        CHANGES.put("compute.seed", to("7"));
        CHANGES.put("compute.device", to("cuda:1"));
        CHANGES.put("compute.amp", to("bf16"));
        CHANGES.put("compute.channels_last", to("true"));
        CHANGES.put("compute.num_workers", to("3"));
        CHANGES.put("compute.threads", to("2"));
        CHANGES.put("compute.rank", to("1", "compute.world_size=2"));
        CHANGES.put("compute.world_size", to("2"));
        CHANGES.put("util.print_freq", to("10"));
        CHANGES.put("util.val_batch_size", to("64"));
        CHANGES.put("util.out", to("runs/other"));
        CHANGES.put("util.checkpoint_every", to("0"));
        CHANGES.put("util.max_steps", to("100"));
        CHANGES.put("train.task", to("multilabel"));
    }

    static TrainConfig config(List<String> more) throws IOException {
        List<String> o = new ArrayList<>(List.of("data.train=imagefolder:/data/train"));
        o.addAll(more);
        return TrainConfig.load(null, null, o);
    }

    @Test
    void everyKeyOfTheDefaultsChangesThePlanOrIsRefused() throws IOException {
        List<String> keys = config(List.of()).keys();
        assertEquals(new TreeSet<>(keys), new TreeSet<>(CHANGES.keySet()),
                "every key of defaults.yaml has an entry in ConfigKeysTest.CHANGES (and no entry names a gone key)");
        for (String key : keys) {
            Change c = CHANGES.get(key);
            TrainConfig base = config(c.context());
            assertNotEquals(c.value(), base.get(key).asText(), key + ": the other value is the base's");
            List<String> changed = new ArrayList<>(c.context());
            changed.add(key + "=" + c.value());
            if (c.kind() == Kind.REFUSED) {
                var e = assertThrows(IllegalArgumentException.class, () -> TrainPlan.of(config(changed)), key);
                assertTrue(e.getMessage().contains(key), key + ": " + e.getMessage());
                continue;
            }
            assertNotEquals(TrainPlan.of(base), TrainPlan.of(config(changed)), key + "=" + c.value()
                    + " (with " + c.context() + ") leaves the plan as it is: the trainer would ignore it");
        }
    }

    @Test
    void settingsOfARecipeThatIsOffAreNotInThePlan() throws IOException {
        // The one-hot baseline of a ReLabel recipe keeps the store's path: nothing opens it.
        TrainPlan oneHot = TrainPlan.of(config(List.of("data.relabel.path=maps.rlm", "data.relabel.mode=probs")));
        assertNull(oneHot.targets().relabel());
        assertNull(oneHot.data().labelMaps(), "no store is opened for a run that reads none");
        assertEquals(TrainPlan.of(config(List.of())), oneHot, "the inert settings leave the plan as the defaults'");
        assertNull(oneHot.targets().kd());
        assertNull(oneHot.targets().cutmix(), "CutMix with beta 0 is off");
        // Distillation reads no store either, even when a path is given.
        TrainPlan kd = TrainPlan.of(config(List.of("kd.use=true", "kd.teacher_arch=small-cnn", "data.relabel.path=m.rlm")));
        assertNull(kd.data().labelMaps());
        assertEquals(2.0, TrainPlan.of(config(List.of("kd.use=true", "kd.teacher_arch=small-cnn", "kd.temperature=2")))
                .targets().kd().temperature());
    }

    @Test
    void combinationsWithoutAMeaningAreRefused() {
        String[][] bad = {
            {"kd.use=true", "kd.teacher_arch=small-cnn", "optim.label_smoothing=0.1", "optim.label_smoothing"},
            {"kd.use=true", "kd.teacher_arch=small-cnn", "data.relabel.use=true", "data.relabel.path=m.rlm",
                "data.relabel.use"},
            {"kd.use=true", "kd.teacher_arch=small-cnn", "data.relabel.gt_mix=0.5", "data.relabel.gt_mix"},
            {"data.relabel.gt_mix=0.5", "needs data.relabel.use"},
            {"data.relabel.dense=true", "needs data.relabel.use"},
            {"data.relabel.use=true", "data.relabel.path=m.rlm", "data.relabel.dense=true", "data.relabel.dense_weight=0",
                "data.relabel.dense_weight"},
            {"data.relabel.use=true", "data.relabel.path=m.rlm", "data.relabel.dense=true", "data.relabel.dense_size=-1",
                "data.relabel.dense_size"},
            {"data.dataset=imagenet21k", "data.dataset"},
            {"kd.use=true", "kd.teacher_arch"},
            {"train.task=multilabel", "optim.label_smoothing=0.1", "optim.label_smoothing"},
            {"train.task=multilabel", "kd.use=true", "kd.teacher_arch=small-cnn", "kd.use"},
            {"train.task=multilabel", "data.relabel.use=true", "data.relabel.path=m.rlm", "data.relabel.mode=probs",
                "data.relabel.mode"},
            {"train.task=multilabel", "data.relabel.use=true", "data.relabel.path=m.rlm",
                "data.relabel.multilabel_target=value", "data.relabel.temperature=2", "data.relabel.temperature"},
            {"data.relabel.threshold=0.5", "needs train.task multilabel"},
            {"train.task=multilabel", "data.relabel.use=true", "data.relabel.path=m.rlm", "data.relabel.dense=true",
                "data.relabel.dense are exclusive"},
            {"train.task=multi", "train.task"},
        };
        for (String[] b : bad) {
            List<String> o = List.of(b).subList(0, b.length - 1);
            var e = assertThrows(IllegalArgumentException.class, () -> config(o), o.toString());
            assertTrue(e.getMessage().contains(b[b.length - 1]), o + ": " + e.getMessage());
        }
    }

    /** config.string/number/integer/bool/get calls in the trainer's sources, outside the files that make the plan. */
    @Test
    void theTrainerReadsTheConfigurationOnlyThroughThePlan() throws IOException {
        Path root = Path.of("src/main/java/org/relabel4j/train");
        if (!Files.isDirectory(root)) root = Path.of("java/torch/src/main/java/org/relabel4j/train");
        assertTrue(Files.isDirectory(root), root.toAbsolutePath().toString());
        Pattern read = Pattern.compile("\\b(config|c|saved)\\.(string|number|integer|bool|get)\\(\"([a-z_.]+)\"");
        List<String> allowed = List.of("TrainPlan.java", "LrSchedule.java", "TrainConfig.java");
        List<String> outside = new ArrayList<>();
        int inPlan = 0;
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(f -> f.toString().endsWith(".java")).toList();
        }
        for (Path f : files) {
            Matcher m = read.matcher(Files.readString(f));
            while (m.find()) {
                String name = f.getFileName().toString();
                if (allowed.contains(name)) ++inPlan;
                // resumeConfig names the world size of a checkpoint in its error message
                else if (!(name.equals("Trainer.java") && m.group(3).equals("compute.world_size"))) outside.add(name + ": " + m.group());
            }
        }
        assertEquals(List.of(), outside, "the trainer reads its settings from the TrainPlan");
        assertTrue(inPlan > 50, "the scan finds the plan's reads: " + inPlan);
    }
}
