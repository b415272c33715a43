package org.relabel4j.eval;

import org.relabel4j.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import org.relabel4j.data.Dataset;

/**
 * The result of one evaluation: every metric in one JSON document ({@link #toJson}, {@link #write}) and a short
 * printed table ({@link #table}). Accuracies are fractions in [0, 1] in the JSON (null where a metric has no
 * images), percentages in the table. Per-class accuracy is in the JSON only.
 */
public final class EvalReport {
    /** Skipped images listed in the JSON at most (the count is always complete). */
    static final int MAX_LISTED = 100;

    private final Evaluator.Run run;
    private final List<String> classNames;
    private final String datasetDescription;
    private final Metrics.Accuracy accuracy;
    private final Metrics.PerClass perClass;
    private final OffsetDateTime date = OffsetDateTime.now(ZoneOffset.UTC);
    private String datasetSpec, modelSpec, checkpoint;
    private int size, resize, batchSize, workers;
    private RealLabels.Result real;
    private String realSource;
    private ShankarLabels.Result shankar;
    private String shankarSource;
    private ShankarLabels.Layout shankarLayout;

    /** The top-1/top-5 and per-class accuracy of {@code run} over {@code dataset}'s classes. */
    public EvalReport(Evaluator.Run run, Dataset dataset) {
        this.run = run;
        this.classNames = dataset.classes();
        this.datasetDescription = dataset.description();
        this.accuracy = Metrics.accuracy(run.predictions());
        this.perClass = Metrics.perClass(run.predictions(), classNames.size());
    }

    /** How the dataset and model were given (CLI arguments), and the checkpoint (null: none). */
    public EvalReport inputs(String datasetSpec, String modelSpec, String checkpoint) {
        this.datasetSpec = datasetSpec;
        this.modelSpec = modelSpec;
        this.checkpoint = checkpoint;
        return this;
    }

    /** The evaluator's settings. */
    public EvalReport settings(Evaluator evaluator) {
        this.size = evaluator.size();
        this.resize = evaluator.resize();
        this.batchSize = evaluator.batchSize();
        this.workers = evaluator.workers();
        return this;
    }

    public EvalReport real(RealLabels.Result result, String source) {
        this.real = result;
        this.realSource = source;
        return this;
    }

    public EvalReport shankar(ShankarLabels.Result result, ShankarLabels.Layout layout, String source) {
        this.shankar = result;
        this.shankarLayout = layout;
        this.shankarSource = source;
        return this;
    }

    public Metrics.Accuracy accuracy() {
        return accuracy;
    }

    public Metrics.PerClass perClass() {
        return perClass;
    }

    /** The whole report as JSON. */
    public ObjectNode toJson() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        Predictions p = run.predictions();
        root.put("tool", "relabel eval");
        root.put("date", date.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        ObjectNode model = root.putObject("model");
        model.put("name", run.model());
        if (modelSpec != null) model.put("spec", modelSpec);
        if (checkpoint != null) model.put("checkpoint", checkpoint);
        else model.putNull("checkpoint");
        model.put("classes", run.modelClasses());
        ObjectNode data = root.putObject("dataset");
        if (datasetSpec != null) data.put("spec", datasetSpec);
        data.put("description", datasetDescription);
        data.put("images", p.size());
        data.put("classes", classNames.size());
        data.put("evaluated", p.evaluatedCount());
        data.put("skipped", p.skipped().size());
        ArrayNode skipped = data.putArray("skippedImages");
        p.skipped().stream().limit(MAX_LISTED).forEach(skipped::add);
        ObjectNode settings = root.putObject("settings");
        settings.put("resize", resize);
        settings.put("crop", size);
        settings.put("normalization", "imagenet");
        settings.put("batchSize", batchSize);
        settings.put("workers", workers);
        settings.put("device", run.device());
        settings.put("topK", p.k());
        ObjectNode timing = root.putObject("timing");
        timing.put("seconds", round(run.seconds(), 3));
        number(timing, "imagesPerSecond", round(run.imagesPerSecond(), 1));

        ObjectNode m = root.putObject("metrics");
        m.put("n", accuracy.n());
        number(m, "top1", accuracy.top1());
        number(m, "top5", accuracy.top5());
        m.put("top1Correct", accuracy.top1Correct());
        m.put("top5Correct", accuracy.top5Correct());
        number(m, "meanPerClassTop1", perClass.meanTop1());
        number(m, "meanPerClassTop5", perClass.meanTop5());
        m.put("classesWithImages", perClass.present());
        m.put("nonFiniteLogits", p.nonFinite());
        if (real != null) {
            ObjectNode r = m.putObject("real");
            r.put("labels", realSource);
            number(r, "top1", real.top1());
            number(r, "top5", real.top5());
            r.put("n", real.n());
            r.put("top1Correct", real.top1Correct());
            r.put("top5Correct", real.top5Correct());
            r.put("lists", real.lists());
            r.put("emptyLists", real.emptyLists());
            r.put("notEvaluated", real.notEvaluated());
        }
        if (shankar != null) {
            ObjectNode s = m.putObject("shankar");
            s.put("labels", shankarSource);
            s.put("layout", shankarLayout.name().toLowerCase(Locale.ROOT));
            s.put("subset", shankar.subset());
            number(s, "accuracy", shankar.accuracy());
            number(s, "accuracyWithUnclear", shankar.accuracyWithUnclear());
            s.put("n", shankar.n());
            s.put("correct", shankar.correct());
            s.put("correctOrUnclear", shankar.correctOrUnclear());
            s.put("graded", shankar.graded());
            s.put("problematic", shankar.problematic());
            s.put("notInDataset", shankar.notInDataset());
            s.put("notEvaluated", shankar.notEvaluated());
            s.put("unresolvedLabels", shankar.unresolvedLabels());
        }
        ArrayNode classes = root.putArray("perClass");
        for (int c = 0; c < perClass.classes(); ++c) {
            ObjectNode o = classes.addObject();
            o.put("class", c);
            o.put("name", classNames.get(c));
            o.put("n", perClass.n()[c]);
            number(o, "top1", perClass.top1(c));
            number(o, "top5", perClass.top5(c));
        }
        return root;
    }

    private static void number(ObjectNode o, String field, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) o.putNull(field);
        else o.put(field, v);
    }

    private static double round(double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return v;
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** Writes the JSON report atomically (a temporary file next to it, then a rename). */
    public void write(Path file) throws IOException {
        String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson());
        AtomicFiles.write(file, tmp -> Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8));
    }

    /** The printed summary: one line per metric, accuracies in percent. */
    public String table() {
        Predictions p = run.predictions();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "model:    %s (%d classes)%s%n", run.model(), run.modelClasses(),
                checkpoint != null ? ", checkpoint " + checkpoint : ""));
        b.append(String.format(Locale.ROOT, "dataset:  %s%n", datasetDescription));
        b.append(String.format(Locale.ROOT, "images:   %d evaluated of %d%s, %.1f s (%.1f images/s on %s)%n",
                p.evaluatedCount(), p.size(), p.skipped().isEmpty() ? "" : " (" + p.skipped().size() + " unreadable, skipped)",
                run.seconds(), run.imagesPerSecond(), run.device()));
        b.append(String.format(Locale.ROOT, "%-30s %8s %8s %8s%n", "metric", "top-1 %", "top-5 %", "images"));
        row(b, "accuracy", accuracy.top1(), accuracy.top5(), accuracy.n());
        row(b, "mean per-class accuracy", perClass.meanTop1(), perClass.meanTop5(), perClass.present());
        if (real != null) row(b, "ReaL", real.top1(), real.top5(), real.n());
        if (shankar != null) {
            row(b, "multi-label (Shankar, " + shankar.subset() + ")", shankar.accuracy(), Double.NaN, shankar.n());
            row(b, "  counting unclear as correct", shankar.accuracyWithUnclear(), Double.NaN, shankar.n());
        }
        if (p.nonFinite() > 0)
            b.append(String.format(Locale.ROOT, "warning: %d images had NaN or infinite logits%n", p.nonFinite()));
        if (real != null && real.notEvaluated() > 0)
            b.append(String.format(Locale.ROOT, "note: ReaL leaves out %d labelled images that were not evaluated%n",
                    real.notEvaluated()));
        if (shankar != null && (shankar.notInDataset() > 0 || shankar.unresolvedLabels() > 0))
            b.append(String.format(Locale.ROOT, "note: multi-label: %d annotated images are not in the dataset, %d labels "
                    + "name no class of it%n", shankar.notInDataset(), shankar.unresolvedLabels()));
        return b.toString();
    }

    private static void row(StringBuilder b, String name, double top1, double top5, int n) {
        b.append(String.format(Locale.ROOT, "%-30s %8s %8s %8d%n", name, percent(top1), percent(top5), n));
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", 100 * v);
    }
}
