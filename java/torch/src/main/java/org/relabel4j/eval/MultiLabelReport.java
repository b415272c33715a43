package org.relabel4j.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.relabel4j.io.AtomicFiles;

/**
 * The report of {@code relabel eval --task multilabel}: the inputs, mAP, CP/CR/CF1 and OP/OR/OF1 at the threshold
 * and at top-3 (percent), the per-class AP (null for a class without positives), as a table and as JSON (written
 * atomically).
 */
public final class MultiLabelReport {
    private final MultiLabelEvaluator.Scores scores;
    private final MultiLabelMetrics.Result metrics;
    private final List<String> classNames;
    private final int datasetImages;
    private String data, model, checkpoint;

    /** The metrics of {@code scores} at {@code threshold}, over a dataset of {@code datasetImages} images. */
    public MultiLabelReport(MultiLabelEvaluator.Scores scores, double threshold, List<String> classNames, int datasetImages) {
        this.scores = scores;
        this.metrics = scores.metrics(threshold);
        this.classNames = classNames;
        this.datasetImages = datasetImages;
    }

    /** Records what was evaluated (for the JSON). */
    public MultiLabelReport inputs(String data, String model, String checkpoint) {
        this.data = data;
        this.model = model;
        this.checkpoint = checkpoint;
        return this;
    }

    public MultiLabelMetrics.Result metrics() {
        return metrics;
    }

    public ObjectNode toJson() {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("task", "multilabel").put("data", data).put("model", model).put("checkpoint", checkpoint);
        root.put("images", metrics.images()).put("images_skipped", datasetImages - metrics.images())
                .put("classes", metrics.classes()).put("classes_without_positives", metrics.classesWithoutPositives())
                .put("threshold", metrics.threshold()).put("seconds", scores.seconds());
        root.put("map", pct(metrics.map()));
        f1s(root.putObject("at_threshold"), metrics.atThreshold());
        f1s(root.putObject("top3"), metrics.top3());
        ArrayNode ap = root.putArray("per_class_ap");
        for (int c = 0; c < metrics.classes(); ++c) {
            ObjectNode n = ap.addObject().put("class", c).put("name", c < classNames.size() ? classNames.get(c) : null);
            if (Double.isNaN(metrics.ap()[c])) n.putNull("ap");
            else n.put("ap", 100 * metrics.ap()[c]);
        }
        return root;
    }

    private static void f1s(ObjectNode n, MultiLabelMetrics.F1s f) {
        n.put("CP", 100 * f.cp()).put("CR", 100 * f.cr()).put("CF1", 100 * f.cf1()).put("OP", 100 * f.op())
                .put("OR", 100 * f.or()).put("OF1", 100 * f.of1());
    }

    private static Double pct(double v) {
        return Double.isNaN(v) ? null : 100 * v;
    }

    /** The printed summary. */
    public String table() {
        MultiLabelMetrics.F1s t = metrics.atThreshold(), k = metrics.top3();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "images:   %d evaluated (%d skipped), %d classes (%d without positives)%n",
                metrics.images(), datasetImages - metrics.images(), metrics.classes(), metrics.classesWithoutPositives()));
        sb.append(String.format(Locale.ROOT, "mAP:      %s%n", Double.isNaN(metrics.map()) ? "n/a (no class has a positive)"
                : String.format(Locale.ROOT, "%.2f", 100 * metrics.map())));
        sb.append(String.format(Locale.ROOT, "@%.2f:    CP %.2f  CR %.2f  CF1 %.2f  OP %.2f  OR %.2f  OF1 %.2f%n",
                metrics.threshold(), 100 * t.cp(), 100 * t.cr(), 100 * t.cf1(), 100 * t.op(), 100 * t.or(), 100 * t.of1()));
        sb.append(String.format(Locale.ROOT, "top-3:    CP %.2f  CR %.2f  CF1 %.2f  OP %.2f  OR %.2f  OF1 %.2f%n",
                100 * k.cp(), 100 * k.cr(), 100 * k.cf1(), 100 * k.op(), 100 * k.or(), 100 * k.of1()));
        return sb.toString();
    }

    /** Writes the JSON report atomically. */
    public void write(Path file) throws IOException {
        String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(toJson());
        AtomicFiles.write(file, tmp -> Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8));
    }
}
