package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A training configuration: the released ReLabel config layout (model.arch, data.cutmix.*, data.relabel.use/path,
 * optim.{optimizer, epochs, batch_size, lr.init, lr.decay_type, warmup.*, nesterov, momentum, wd.base,
 * label_smoothing, bn.*}) so that the released YAML files load as they are, plus this tool's keys (documented in
 * {@code docs/training.md}). Layers, later winning: built-in defaults, a preset, a YAML/JSON file, {@code key=value}
 * overrides. Unknown keys are errors naming the key, so a typo never silently trains something else.
 */
public final class TrainConfig {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ObjectNode tree;

    private TrainConfig(ObjectNode tree) {
        this.tree = tree;
    }

    /** The names of the built-in presets. */
    public static List<String> presets() {
        return List.of("resnet50", "resnet50_cutmix", "tiny");
    }

    /** Defaults, then the preset (may be null), the file (may be null), and the overrides ("a.b.c=value"). */
    public static TrainConfig load(String preset, Path file, List<String> overrides) throws IOException {
        ObjectNode tree = (ObjectNode) resource("defaults");
        if (preset != null) {
            if (!presets().contains(preset))
                throw new IllegalArgumentException("unknown preset '" + preset + "' (known: " + presets() + ")");
            merge(tree, resource(preset), "preset " + preset, "");
        }
        if (file != null) {
            JsonNode f;
            try {
                f = (file.toString().endsWith(".json") ? JSON : YAML).readTree(Files.readAllBytes(file));
            } catch (IOException e) {
                throw new IOException(file + ": not a valid YAML/JSON config: " + e.getMessage(), e);
            }
            if (f != null && !f.isNull()) {
                if (!f.isObject()) throw new IllegalArgumentException(file + ": the config must be a mapping");
                merge(tree, f, file.toString(), "");
            }
        }
        // The batch optim.lr.init is for: the recipe's (defaults, preset, file), unless the overrides give the rate
        // itself, which is then taken as given for the run's batch.
        JsonNode recipeBatch = tree.get("optim").get("batch_size").deepCopy();
        boolean rateGiven = false;
        for (String o : overrides == null ? List.<String>of() : overrides) {
            override(tree, o);
            rateGiven |= o.substring(0, o.indexOf('=')).trim().equals("optim.lr.init");
        }
        resolveReferenceBatch(tree, rateGiven ? null : recipeBatch);
        TrainConfig c = new TrainConfig(tree);
        c.validate();
        return c;
    }

    /** Sets an unset {@code optim.lr.reference_batch} to {@code batch} (null: the configured batch size). */
    private static void resolveReferenceBatch(ObjectNode tree, JsonNode batch) {
        ObjectNode optim = (ObjectNode) tree.get("optim"), lr = (ObjectNode) optim.get("lr");
        if (lr.get("reference_batch").isNull()) lr.set("reference_batch", batch != null ? batch : optim.get("batch_size"));
    }

    private static JsonNode resource(String name) throws IOException {
        try (InputStream in = TrainConfig.class.getResourceAsStream("/org/relabel4j/train/" + name + ".yaml")) {
            if (in == null) throw new IllegalStateException("missing config resource " + name);
            return YAML.readTree(in);
        }
    }

    /** Copies src into dst; every key of src must exist in dst (the defaults list every key). */
    private static void merge(ObjectNode dst, JsonNode src, String origin, String prefix) {
        Iterator<Map.Entry<String, JsonNode>> it = src.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode existing = dst.get(e.getKey());
            if (existing == null)
                throw new IllegalArgumentException(origin + ": unknown config key '" + key + "'");
            if (existing.isObject()) {
                if (!e.getValue().isObject())
                    throw new IllegalArgumentException(origin + ": '" + key + "' must be a mapping, got " + e.getValue());
                merge((ObjectNode) existing, e.getValue(), origin, key);
            } else {
                dst.set(e.getKey(), e.getValue());
            }
        }
    }

    /** Applies "a.b.c=value" (value parsed as a YAML scalar, list or mapping). */
    static void override(ObjectNode tree, String assignment) throws IOException {
        int eq = assignment.indexOf('=');
        if (eq <= 0) throw new IllegalArgumentException("override must be key=value, got '" + assignment + "'");
        String[] path = assignment.substring(0, eq).trim().split("\\.");
        JsonNode value = YAML.readTree(assignment.substring(eq + 1));
        if (value == null || value.isMissingNode()) value = JsonNodeFactory.instance.nullNode();
        ObjectNode at = tree;
        for (int i = 0; i < path.length; ++i) {
            JsonNode child = at.get(path[i]);
            String key = String.join(".", java.util.Arrays.copyOf(path, i + 1));
            if (child == null) throw new IllegalArgumentException("override: unknown config key '" + key + "'");
            if (i + 1 < path.length) {
                if (!child.isObject()) throw new IllegalArgumentException("override: '" + key + "' is not a mapping");
                at = (ObjectNode) child;
            } else {
                if (child.isObject()) throw new IllegalArgumentException("override: '" + key + "' is a mapping; set its keys");
                at.set(path[i], value);
            }
        }
    }

    /** The value at a dotted path. */
    public JsonNode get(String path) {
        JsonNode n = tree;
        for (String p : path.split("\\.")) {
            n = n.get(p);
            if (n == null) throw new IllegalArgumentException("unknown config key '" + path + "'");
        }
        return n;
    }

    public String string(String path) {
        JsonNode n = get(path);
        return n.isNull() ? null : n.asText();
    }

    public int integer(String path) {
        JsonNode n = get(path);
        if (!n.canConvertToInt() || (n.isNumber() && n.asDouble() != n.asInt()))
            throw new IllegalArgumentException("config '" + path + "' must be an integer, got " + n);
        return n.asInt();
    }

    public double number(String path) {
        JsonNode n = get(path);
        if (!n.isNumber()) throw new IllegalArgumentException("config '" + path + "' must be a number, got " + n);
        return n.asDouble();
    }

    public boolean bool(String path) {
        JsonNode n = get(path);
        if (!n.isBoolean()) throw new IllegalArgumentException("config '" + path + "' must be true or false, got " + n);
        return n.asBoolean();
    }

    /** Every key of the configuration (the defaults list them all), dotted, in the defaults' order. */
    public List<String> keys() {
        List<String> out = new ArrayList<>();
        collectKeys(tree, "", out);
        return out;
    }

    private static void collectKeys(JsonNode node, String prefix, List<String> out) {
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().isObject()) collectKeys(e.getValue(), key, out);
            else out.add(key);
        }
    }

    /** The whole configuration as pretty JSON (saved beside every run). */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The configuration as YAML. */
    public String toYaml() {
        try {
            return YAML.writeValueAsString(tree);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** This configuration with {@code overrides} ("a.b.c=value") applied, validated. */
    public TrainConfig with(List<String> overrides) throws IOException {
        ObjectNode copy = tree.deepCopy();
        for (String o : overrides == null ? List.<String>of() : overrides) override(copy, o);
        resolveReferenceBatch(copy, null);
        TrainConfig c = new TrainConfig(copy);
        c.validate();
        return c;
    }

    /**
     * Restores a configuration saved by {@link #toJson()} (a checkpoint's), over the defaults: a key added since the
     * checkpoint was written takes its default.
     */
    public static TrainConfig fromJson(String json) throws IOException {
        ObjectNode tree = (ObjectNode) resource("defaults");
        merge(tree, JSON.readTree(json), "the saved config", "");
        resolveReferenceBatch(tree, null);  // saved before the key existed: its rate was the run's own
        TrainConfig c = new TrainConfig(tree);
        c.validate();
        return c;
    }

    private void validate() {
        List<String> errors = new ArrayList<>();
        check(errors, integer("optim.epochs") >= 1, "optim.epochs must be >= 1");
        check(errors, integer("optim.batch_size") >= 1, "optim.batch_size must be >= 1");
        check(errors, number("optim.lr.init") > 0, "optim.lr.init must be > 0");
        check(errors, integer("optim.lr.reference_batch") >= 1, "optim.lr.reference_batch must be >= 1 (or null)");
        check(errors, List.of("linear", "none").contains(string("optim.lr.scale")),
                "optim.lr.scale must be linear or none, got " + string("optim.lr.scale"));
        check(errors, number("optim.warmup.epochs") >= 0, "optim.warmup.epochs must be >= 0");
        String opt = string("optim.optimizer").toLowerCase(Locale.ROOT);
        check(errors, List.of("sgd", "adamw", "adamp").contains(opt), "optim.optimizer must be sgd, adamw or adamp, got " + opt);
        String decay = string("optim.lr.decay_type").toLowerCase(Locale.ROOT);
        check(errors, List.of("cos", "linear", "step", "default").contains(decay),
                "optim.lr.decay_type must be cos, linear, step or default, got " + decay);
        double ls = number("optim.label_smoothing");
        check(errors, ls >= 0 && ls < 1, "optim.label_smoothing must be in [0, 1)");
        double mix = number("data.relabel.gt_mix");
        check(errors, mix >= 0 && mix <= 1, "data.relabel.gt_mix must be in [0, 1]");
        check(errors, number("data.cutmix.prob") >= 0 && number("data.cutmix.prob") <= 1, "data.cutmix.prob must be in [0, 1]");
        check(errors, number("data.cutmix.beta") >= 0, "data.cutmix.beta must be >= 0");
        check(errors, number("data.relabel.temperature") > 0, "data.relabel.temperature must be > 0");
        check(errors, List.of("logits", "probs").contains(string("data.relabel.mode")),
                "data.relabel.mode must be logits or probs");
        check(errors, List.of("correct", "official").contains(string("data.relabel.box_order")),
                "data.relabel.box_order must be correct or official");
        check(errors, List.of("mapped", "mapped-readahead", "ram", "auto").contains(string("data.relabel.residency")),
                "data.relabel.residency must be mapped, mapped-readahead, ram or auto");
        check(errors, List.of("off", "bf16", "fp16").contains(string("compute.amp")), "compute.amp must be off, bf16 or fp16");
        check(errors, !(bool("data.relabel.use") && string("data.relabel.path") == null),
                "data.relabel.use needs data.relabel.path (a label-map store)");
        check(errors, !(bool("kd.use") && string("kd.teacher_arch") == null), "kd.use needs kd.teacher_arch");
        // One objective per run: distillation trains on the teacher's outputs alone; no mix with other targets is defined.
        check(errors, !(bool("kd.use") && bool("data.relabel.use")), "kd.use and data.relabel.use are exclusive "
                + "(distillation trains on the teacher's outputs alone; no mix of teacher and ReLabel targets is defined)");
        check(errors, !(bool("kd.use") && number("optim.label_smoothing") != 0), "kd.use and optim.label_smoothing "
                + number("optim.label_smoothing") + " are exclusive (the teacher's softened outputs are the whole target)");
        check(errors, !(bool("kd.use") && number("data.relabel.gt_mix") != 0), "kd.use and data.relabel.gt_mix "
                + number("data.relabel.gt_mix") + " are exclusive (the teacher's outputs are the whole target)");
        check(errors, !(number("data.relabel.gt_mix") != 0 && !bool("data.relabel.use")), "data.relabel.gt_mix "
                + number("data.relabel.gt_mix") + " mixes the label into ReLabel targets: it needs data.relabel.use");
        check(errors, !(bool("data.relabel.dense") && !bool("data.relabel.use")), "data.relabel.dense trains the "
                + "dense logits on S x S LabelPooling targets of the label maps: it needs data.relabel.use");
        check(errors, number("data.relabel.dense_weight") > 0 && Double.isFinite(number("data.relabel.dense_weight")),
                "data.relabel.dense_weight must be finite and > 0, got " + get("data.relabel.dense_weight"));
        check(errors, integer("data.relabel.dense_size") >= 0 && integer("data.relabel.dense_size") <= 256,
                "data.relabel.dense_size must be in [0, 256] (0: the student's map size), got "
                        + get("data.relabel.dense_size"));
        check(errors, "imagenet".equals(string("data.dataset")), "data.dataset must be 'imagenet' (the layout of "
                + "data.data_path: train/ and val/ class folders), got " + get("data.dataset")
                + "; for other datasets set data.train and data.val to a dataset SPEC");
        check(errors, string("util.out") != null && !string("util.out").isEmpty(), "util.out must name the run directory");
        check(errors, !(bool("data.label_cleaning.use") && string("data.relabel.path") == null),
                "data.label_cleaning.use needs data.relabel.path (the teacher's label maps)");
        check(errors, number("kd.temperature") > 0, "kd.temperature must be > 0");
        check(errors, List.of("batch", "none").contains(string("model.norm")), "model.norm must be batch or none");
        validateTask(errors);
        if (!errors.isEmpty()) throw new IllegalArgumentException("invalid config: " + String.join("; ", errors));
    }

    /** train.task and the multi-label keys: what multi-label training accepts, and the keys only it reads. */
    private void validateTask(List<String> errors) {
        check(errors, List.of("single", "multilabel").contains(string("train.task")),
                "train.task must be single or multilabel, got " + string("train.task"));
        check(errors, List.of("sigmoid", "value").contains(string("data.relabel.multilabel_target")),
                "data.relabel.multilabel_target must be sigmoid or value, got " + string("data.relabel.multilabel_target"));
        double threshold = number("data.relabel.threshold");
        check(errors, threshold >= 0 && threshold < 1, "data.relabel.threshold must be in [0, 1), got " + threshold);
        if ("multilabel".equals(string("train.task"))) {
            // BCE on per-class targets: the softmax-distribution recipes have no multi-label meaning defined here.
            check(errors, !bool("kd.use"), "train.task multilabel and kd.use are exclusive (no multi-label distillation)");
            check(errors, number("optim.label_smoothing") == 0, "train.task multilabel and optim.label_smoothing "
                    + number("optim.label_smoothing") + " are exclusive (smoothing spreads a distribution over classes)");
            check(errors, number("data.relabel.gt_mix") == 0, "train.task multilabel and data.relabel.gt_mix "
                    + number("data.relabel.gt_mix") + " are exclusive");
            check(errors, !bool("data.label_cleaning.use"), "train.task multilabel and data.label_cleaning.use are "
                    + "exclusive (label cleaning compares a single label with the teacher's top-1)");
            check(errors, !(bool("data.relabel.use") && !"logits".equals(string("data.relabel.mode"))),
                    "train.task multilabel pools the maps' scores as they are: data.relabel.mode must be logits "
                    + "(probs is a per-cell softmax)");
            check(errors, !(bool("data.relabel.use") && "value".equals(string("data.relabel.multilabel_target"))
                    && number("data.relabel.temperature") != 1), "data.relabel.temperature "
                    + number("data.relabel.temperature") + " has no meaning for data.relabel.multilabel_target value");
            check(errors, !bool("data.relabel.dense"), "train.task multilabel and data.relabel.dense are exclusive "
                    + "(dense supervision trains per-cell softmax targets)");
        } else {
            check(errors, threshold == 0, "data.relabel.threshold " + threshold + " needs train.task multilabel");
        }
    }

    /**
     * The base learning rate the run trains with: {@code optim.lr.init} for a batch of {@code optim.lr.reference_batch},
     * scaled linearly to {@code optim.batch_size} (Goyal et al. 2017) unless {@code optim.lr.scale} is {@code none}.
     */
    public double lr() {
        double init = number("optim.lr.init");
        if (string("optim.lr.scale").equals("none")) return init;
        return init * integer("optim.batch_size") / integer("optim.lr.reference_batch");
    }

    /**
     * The warmup the run trains with: {@code optim.warmup.epochs}, or half the run when that is not shorter than
     * {@code optim.epochs} (a first short run of a long recipe, e.g. {@code --epochs 1} with its 5 warmup epochs).
     */
    public double warmupEpochs() {
        double warmup = number("optim.warmup.epochs");
        int epochs = integer("optim.epochs");
        return warmup < epochs ? warmup : epochs / 2.0;
    }

    /**
     * What the run does differently from the keys as written, one line each, for the run's log: the learning rate
     * scaled to the batch ({@link #lr()}), a warmup clamped to the run ({@link #warmupEpochs()}, a warning).
     */
    public List<String> notes() {
        List<String> notes = new ArrayList<>();
        int batch = integer("optim.batch_size"), reference = integer("optim.lr.reference_batch");
        if (batch != reference) {
            if (string("optim.lr.scale").equals("linear"))
                notes.add("lr: " + plain(lr()) + " = optim.lr.init " + plain(number("optim.lr.init")) + " (for batch "
                        + reference + ", optim.lr.reference_batch) x " + batch + " / " + reference + ": linear scaling "
                        + "to the batch size " + batch + " (keep a rate as given: --lr, or optim.lr.scale=none)");
            else
                notes.add("lr: " + plain(lr()) + " as given (optim.lr.scale=none) for batch " + batch + "; the recipe's "
                        + "rate is for batch " + reference);
        }
        double warmup = number("optim.warmup.epochs");
        if (warmupEpochs() != warmup)
            notes.add("warning: optim.warmup.epochs " + plain(warmup) + " is not shorter than the run ("
                    + integer("optim.epochs") + " epoch(s)): warmup clamped to " + plain(warmupEpochs())
                    + " epoch(s), half the run, so that the rate also decays");
        return notes;
    }

    private static String plain(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
    }

    private static void check(List<String> errors, boolean ok, String message) {
        if (!ok) errors.add(message);
    }
}
