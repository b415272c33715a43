package org.relabel4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.relabel4j.cli.RelabelCli;
import org.relabel4j.demo.Demo.Candidate;
import org.relabel4j.demo.Demo.StudentRun;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.train.Trainer;

/** The demo's report: {@code report.md}, {@code report.json}, {@code curves.png} and the label-map figures. */
final class DemoReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Demo.Options o;
    private final Demo.SceneSet scenes;
    private final Path teacherRun;
    private final double teacherValTop1;
    private final double[] teacher;
    private final List<StudentRun> runs, candidates;
    private FigurePick pick;  // set by figures()

    DemoReport(Demo.Options o, Demo.SceneSet scenes, Path teacherRun, double teacherValTop1, double[] teacher,
            List<StudentRun> runs, List<StudentRun> candidates) {
        this.o = o;
        this.scenes = scenes;
        this.teacherRun = teacherRun;
        this.teacherValTop1 = teacherValTop1;
        this.teacher = teacher;
        this.runs = runs;
        this.candidates = candidates;
    }

    /** Mean and sample standard deviation (0 for one value). */
    record Stat(double mean, double std, int n) {
        static Stat of(List<Double> v) {
            double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            double ss = v.stream().mapToDouble(x -> (x - m) * (x - m)).sum();
            return new Stat(m, v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : 0, v.size());
        }

        String format() {
            return n > 1 ? String.format(Locale.ROOT, "%.2f ± %.2f", mean, std) : String.format(Locale.ROOT, "%.2f", mean);
        }
    }

    Stat stat(String method, java.util.function.ToDoubleFunction<StudentRun> f) {
        return Stat.of(runs.stream().filter(r -> r.method().equals(method)).map(r -> f.applyAsDouble(r)).toList());
    }

    /** The results table (markdown), as printed at the end of a run. */
    String table() {
        StringBuilder b = new StringBuilder();
        int seeds = o.seeds().size();
        b.append(String.format(Locale.ROOT, "| method | setting (chosen on validation) | val top-1 | test top-1 | "
                + "test multi-label |%n|---|---|---|---|---|%n"));
        for (String m : Demo.METHODS) {
            StudentRun first = runs.stream().filter(r -> r.method().equals(m)).findFirst().orElseThrow();
            b.append(String.format(Locale.ROOT, "| %s | %s (best of %d) | %s | %s | %s |%n", m,
                    first.setting().describe(), o.settings(m).size(), stat(m, StudentRun::valTop1).format(),
                    stat(m, StudentRun::testTop1).format(), stat(m, StudentRun::testMulti).format()));
        }
        b.append(String.format(Locale.ROOT, "| teacher (reference: trained on other scenes with item masks) | - | %.2f "
                + "| %.2f | %.2f |%n", teacherValTop1, teacher[0], teacher[1]));
        if (seeds > 1) b.append(String.format(Locale.ROOT, "%nStudents: mean ± std over %d seeds %s.%n", seeds, o.seeds()));
        return b.toString();
    }

    /** Seeds per method below which no difference is called. */
    static final int MIN_SEEDS = 3;

    static final String RULE = "Verdict rule: A *beats* B on a metric only when both ran at least " + MIN_SEEDS
            + " seeds (the same seeds, each method at its own setting chosen on validation) and every seed of A scores "
            + "above every seed of B: the seeds' ranges do not overlap (a one-sided rank test; p = 1/C(2n, n), 0.05 for "
            + "n = 3 seeds each); *loses to* is the reverse; anything else is *within noise*, whatever the mean "
            + "difference. The test scenes are read once, after every choice is made.";

    /** The rule's word for A against B: "beats", "loses to" or "within noise of". */
    static String word(List<Double> a, List<Double> b) {
        if (a.size() < MIN_SEEDS || b.size() < MIN_SEEDS) return "within noise of";
        double minA = a.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double maxA = a.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        double minB = b.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double maxB = b.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return minA > maxB ? "beats" : maxA < minB ? "loses to" : "within noise of";
    }

    /** One comparison: A against B on a metric, over the seeds (paired by seed). */
    record Comparison(String a, String b, String metric, double difference, String word, int seeds, int aAbove,
            Stat paired) {}

    static final List<String[]> PAIRS = List.of(new String[] {Demo.RELABEL_TEACHER, Demo.ONE_HOT},
            new String[] {Demo.RELABEL_TEACHER, Demo.SMOOTHING}, new String[] {Demo.RELABEL_ORACLE, Demo.ONE_HOT},
            new String[] {Demo.RELABEL_ORACLE, Demo.SMOOTHING}, new String[] {Demo.SMOOTHING, Demo.ONE_HOT});

    private List<Double> bySeed(String method, java.util.function.ToDoubleFunction<StudentRun> f) {
        List<Double> v = new ArrayList<>();
        for (int seed : o.seeds())
            runs.stream().filter(r -> r.method().equals(method) && r.seed() == seed).findFirst()
                    .ifPresent(r -> v.add(f.applyAsDouble(r)));
        return v;
    }

    List<Comparison> comparisons() {
        List<Comparison> out = new ArrayList<>();
        for (String[] pair : PAIRS) {
            for (String metric : List.of("top-1", "multi-label")) {
                java.util.function.ToDoubleFunction<StudentRun> f = metric.equals("top-1") ? StudentRun::testTop1
                        : StudentRun::testMulti;
                List<Double> a = bySeed(pair[0], f), b = bySeed(pair[1], f), diff = new ArrayList<>();
                int above = 0;
                for (int i = 0; i < Math.min(a.size(), b.size()); ++i) {
                    diff.add(a.get(i) - b.get(i));
                    if (a.get(i) > b.get(i)) ++above;
                }
                out.add(new Comparison(pair[0], pair[1], metric, Stat.of(a).mean() - Stat.of(b).mean(), word(a, b),
                        Math.min(a.size(), b.size()), above, Stat.of(diff)));
            }
        }
        return out;
    }

    /** The verdict: the rule, then one sentence per pair of methods (both metrics), by the rule. */
    List<String> verdict() {
        List<String> out = new ArrayList<>();
        out.add(RULE);
        List<Comparison> all = comparisons();
        for (int i = 0; i < all.size(); i += 2) {
            Comparison top = all.get(i), multi = all.get(i + 1);
            String seeds = top.seeds() >= MIN_SEEDS
                    ? String.format(Locale.ROOT, "; %d seeds, per seed top-1 %+.2f ± %.2f (%s above in %d of %d)",
                            top.seeds(), top.paired().mean(), top.paired().std(), top.a(), top.aAbove(), top.seeds())
                    : String.format(Locale.ROOT, " (%d seed%s: the rule needs %d per method to call a difference; "
                            + "--full runs 3)", top.seeds(), top.seeds() == 1 ? "" : "s", MIN_SEEDS);
            out.add(String.format(Locale.ROOT, "%s %s %s on test top-1 (%+.2f points) and %s it on multi-label "
                    + "(%+.2f)%s.", top.a(), verb(top.word()), top.b(), top.difference(), verb(multi.word()),
                    multi.difference(), seeds));
        }
        Stat oneTop = stat(Demo.ONE_HOT, StudentRun::testTop1);
        if (teacher[0] <= oneTop.mean())
            out.add(String.format(Locale.ROOT, "The teacher is not stronger than the one-hot student on the test scenes "
                    + "(top-1 %.2f vs %.2f): ReLabel's premise is a teacher that knows more than its student (the "
                    + "paper's EfficientNet-L2 teacher: 88%% ImageNet top-1, its ResNet-50 students: 78%%); a teacher "
                    + "no better than the student mostly adds its own errors to the targets.", teacher[0], oneTop.mean()));
        return out;
    }

    /** The rule's word in a sentence: "beats", "loses to", "is within noise of". */
    private static String verb(String word) {
        return word.equals("within noise of") ? "is within noise of" : word;
    }

    Path writeMarkdown(Path file, double seconds) throws IOException {
        StringWriter sw = new StringWriter();
        PrintWriter w = new PrintWriter(sw);
        w.println("# ReLabel on Fashion-MNIST scenes");
        w.println();
        w.printf(Locale.ROOT, "Generated by `relabel demo` on %s, %d CPU cores, in %.0f s (scenes, teacher and stores "
                        + "cached in `%s`).%n%n", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                Runtime.getRuntime().availableProcessors(), seconds, o.cache());
        w.println("## Results on the test scenes");
        w.println();
        w.printf(Locale.ROOT, "%d test scenes built from Fashion-MNIST's test split. *top-1*: the prediction is the "
                + "scene's largest item (its single label). *multi-label*: the prediction names any item in the "
                + "scene (ReaL-style). *val top-1*: validation scenes (from held-back training items), the only "
                + "numbers any choice was made on.%n%n", o.testScenes());
        w.print(table());
        w.println();
        for (String v : verdict()) w.println("- " + v);
        w.println();
        w.println("## Setup");
        w.println();
        w.printf(Locale.ROOT, "- Scenes: %s; %d training scenes (items 0-%,d of the train split), %d validation scenes "
                        + "(items %,d-59,999), %d test scenes (test split). Label = the largest item. Truth of every "
                        + "item: `%s/*.scenes.json`, `*.real.json`.%n", o.spec().describe(), o.trainScenes(),
                Demo.HELD_BACK_FROM - 1, o.valScenes(), Demo.HELD_BACK_FROM, o.testScenes(), scenes.root());
        w.printf(Locale.ROOT, "- Students (all methods): small CNN width %d, %d px RandomResizedCrop (scale %.2f-1) + "
                        + "flip, %d epochs, batch %d, SGD (Nesterov) with cosine decay, wd 5e-4; evaluated on the whole "
                        + "scene at %d px.%n", o.studentWidth(), o.studentSize(), o.rrcMinimum(), o.epochs(),
                o.batchSize(), o.studentSize());
        w.printf(Locale.ROOT, "- The same validation budget for every method: each trains its first seed once per "
                        + "setting of its own grid (%d settings each) and keeps the best on validation top-1: one-hot its "
                        + "learning rate (%s), label smoothing its epsilon and learning rate (%s), each ReLabel student "
                        + "its pooling and learning rate (%s). Further seeds train with the chosen setting.%n",
                o.candidates().size(), describe(o.settings(Demo.ONE_HOT)), describe(o.settings(Demo.SMOOTHING)),
                describe(o.settings(Demo.RELABEL_TEACHER)));
        w.printf(Locale.ROOT, "- Teacher: small CNN width %d at %d px (students: %d px), trained for %d epochs on %d "
                        + "other scenes of the training items with LabelPooling targets from *their* oracle maps: item "
                        + "masks, supervision the students never get (the paper's teacher saw extra data). `annotate` "
                        + "at %d px writes its dense top-5 maps of the students' training scenes (`%s`).%n",
                o.teacherWidth(), o.teacherSize(), o.studentSize(), o.teacherEpochs(), o.teacherScenes(),
                o.annotateSize(), teacherRun);
        w.printf(Locale.ROOT, "- Oracle maps: per %dx%d cell and class, the fraction of the cell covered by that "
                + "class's visible ink, times %s (logits), top-5.%n", o.oracleGrid(), o.oracleGrid(), Demo.trim(o.oracleScale()));
        w.println();
        w.println("## Choosing each method's setting on validation scenes (seed " + o.seeds().get(0) + ")");
        w.println();
        w.println("| method | setting | val top-1 |");
        w.println("|---|---|---|");
        for (StudentRun r : candidates) {
            boolean chosen = runs.stream().anyMatch(x -> x.dir().equals(r.dir()));
            String val = Double.isNaN(r.valTop1()) ? "diverged" : String.format(Locale.ROOT, "%.2f", r.valTop1());
            w.printf(Locale.ROOT, "| %s | %s | %s |%n", r.method(), chosen ? "**" + r.setting().describe() + "** (chosen)"
                    : r.setting().describe(), val);
        }
        w.println();
        w.println("## Figures");
        w.println();
        w.println("- `curves.png`: validation top-1 per epoch and training loss of every student (first seed).");
        if (pick != null) w.println("- " + pick.describe());
        w.flush();
        Trainer.writeAtomically(file, sw.toString());
        return file;
    }

    Path writeJson(Path file, double seconds) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("seconds", seconds);
        root.put("scenes", o.spec().describe());
        root.put("train_scenes", o.trainScenes()).put("val_scenes", o.valScenes()).put("test_scenes", o.testScenes());
        root.putObject("teacher").put("val_top1", teacherValTop1).put("test_top1", teacher[0])
                .put("test_multi", teacher[1]).put("run", teacherRun.toString());
        ArrayNode rs = root.putArray("students");
        for (StudentRun r : runs) put(rs.addObject(), r).put("test_top1", r.testTop1()).put("test_multi", r.testMulti());
        ArrayNode cs = root.putArray("candidates");
        for (StudentRun r : candidates) put(cs.addObject(), r);
        root.put("verdict_rule", RULE);
        ArrayNode vs = root.putArray("verdicts");
        for (Comparison c : comparisons())
            vs.addObject().put("a", c.a()).put("b", c.b()).put("metric", c.metric()).put("difference", c.difference())
                    .put("verdict", c.word()).put("seeds", c.seeds()).put("a_above_b_seeds", c.aAbove())
                    .put("paired_mean", c.paired().mean()).put("paired_std", c.paired().std());
        if (pick != null) {
            ObjectNode f = root.putObject("figure");
            f.put("rule", FigurePick.RULE).put("key", pick.scene().key()).put("crop", pick.crop())
                    .put("crop_class", FashionMnist.CLASSES.get(pick.item().cls())).put("eligible_scenes", pick.eligible())
                    .put("teacher_target_item_probability", pick.p()).put("teacher_names_item", pick.teacherItem())
                    .put("teacher_names_label", pick.teacherLabel()).put("oracle_names_item", pick.oracleItem())
                    .put("oracle_names_label", pick.oracleLabel());
        }
        Trainer.writeAtomically(file, JSON.writeValueAsString(root));
        return file;
    }

    private static ObjectNode put(ObjectNode n, StudentRun r) {
        n.put("method", r.method()).put("seed", r.seed()).put("val_top1", r.valTop1()).put("seconds", r.seconds())
                .put("run", r.dir().toString());
        ObjectNode s = n.putObject("setting").put("describe", r.setting().describe()).put("lr", r.setting().lr())
                .put("label_smoothing", r.setting().smoothing());
        if (r.candidate() != null)
            s.putObject("pooling").put("mode", r.candidate().mode()).put("temperature", r.candidate().temperature())
                    .put("gt_mix", r.candidate().gtMix());
        return n;
    }

    private static String describe(List<Demo.Setting> settings) {
        return String.join("; ", settings.stream().map(Demo.Setting::describe).toList());
    }

    /** Validation top-1 per epoch and training loss per epoch, one series per method (first seed). */
    Path curves(Path file) throws IOException {
        XYChart val = new XYChartBuilder().width(640).height(420).title("validation top-1 (scenes)")
                .xAxisTitle("epoch").yAxisTitle("%").build();
        XYChart loss = new XYChartBuilder().width(640).height(420).title("training loss").xAxisTitle("epoch")
                .yAxisTitle("loss").build();
        for (String m : Demo.METHODS) {
            StudentRun r = runs.stream().filter(x -> x.method().equals(m)).findFirst().orElseThrow();
            List<Double> ep = new ArrayList<>(), top = new ArrayList<>(), ls = new ArrayList<>();
            try (BufferedReader in = Files.newBufferedReader(r.dir().resolve("metrics.jsonl"))) {
                String line;
                while ((line = in.readLine()) != null) {
                    JsonNode n = JSON.readTree(line);
                    if (!n.path("kind").asText().equals("epoch")) continue;
                    ep.add(n.get("epoch").asDouble() + 1);
                    top.add(n.path("val_top1").asDouble(Double.NaN));
                    ls.add(n.path("train_loss").asDouble(Double.NaN));
                }
            }
            if (ep.isEmpty()) continue;
            val.addSeries(m, ep, top).setMarker(SeriesMarkers.CIRCLE);
            loss.addSeries(m, ep, ls).setMarker(SeriesMarkers.CIRCLE);
        }
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".curves", ".png");
        try {
            BitmapEncoder.saveBitmap(List.of(val, loss), 1, 2, tmp.toString().replaceAll("\\.png$", ""),
                    BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return file;
    }

    /**
     * The figure's scene and crop, picked by {@link #RULE}, not by hand, and how the pooled targets label the crops of
     * every eligible scene: {@code teacherItem} etc. are the shares (%) of eligible crops whose pooled target names
     * the crop's item, or the scene's label, first.
     */
    record FigurePick(Scenes.Scene scene, Scenes.Item item, int eligible, double p, double teacherItem,
            double teacherLabel, double oracleItem, double oracleLabel) {
        static final String RULE = "among the training scenes with 3 or more items whose second-largest item is of "
                + "another class than the label, the crop is that item's ink box and the scene is the one whose crop "
                + "gets the median probability for the item's class in the target pooled from the teacher's maps (as the "
                + "chosen teacher-map student pools): the typical case, neither the best nor the worst";

        String crop() {
            int[] b = item.box();
            return b[0] + "," + b[1] + "," + b[2] + "," + b[3];
        }

        String describe() {
            return String.format(Locale.ROOT, "`show-teacher.png`, `show-oracle.png` (`relabel show`): training scene "
                    + "`%s`, its top classes' heatmaps in the teacher's and the oracle's maps, and the pooled soft "
                    + "target of the crop %s around its second-largest item (a %s; the scene's label: %s). Picked by a "
                    + "rule, not by hand: %s (%d scenes; here the teacher target gives the item %.2f). Over those %d "
                    + "crops the pooled target names the crop's item first in %.1f%% (teacher maps) and %.1f%% (oracle "
                    + "maps), and the scene's label, which one-hot training gives every crop, in %.1f%% and %.1f%%.",
                    scene.key(), crop(), FashionMnist.CLASSES.get(item.cls()), FashionMnist.CLASSES.get(scene.label()),
                    RULE, eligible, p, eligible, teacherItem, oracleItem, teacherLabel, oracleLabel);
        }
    }

    /** The pooled targets [n, C] of each scene's crop {@code boxes[i]} (pixels of the canvas) in {@code store}. */
    private float[][] pooled(Path store, List<Scenes.Scene> scenes, List<int[]> boxes, Candidate c) throws IOException {
        try (LabelMapStore maps = LabelMapStore.open(store)) {
            int n = scenes.size(), classes = maps.format().classes(), k = maps.format().k(), h = maps.format().height(),
                    w = maps.format().width(), per = k * h * w;
            float[] scores = new float[n * per], box = new float[n * 4];
            int[] ids = new int[n * per];
            float side = o.spec().canvas();
            for (int i = 0; i < n; ++i) {
                LabelMap m = maps.map(maps.require(scenes.get(i).key()));
                System.arraycopy(m.scores(), 0, scores, i * per, per);
                System.arraycopy(m.ids(), 0, ids, i * per, per);
                for (int j = 0; j < 4; ++j) box[i * 4 + j] = boxes.get(i)[j] / side;
            }
            LabelPooling.Mode mode = c.mode().equals("probs") ? LabelPooling.Mode.PROBS : LabelPooling.Mode.LOGITS;
            float[] all = LabelPooling.builder(classes).softmax(true).mode(mode).temperature((float) c.temperature())
                    .build().apply(NdArray.of(scores, n, k, h, w), NdArray.of(ids, n, k, h, w), NdArray.of(box, n, 4), null)
                    .toFloatArray();
            float[][] out = new float[n][];
            for (int i = 0; i < n; ++i) out[i] = java.util.Arrays.copyOfRange(all, i * classes, (i + 1) * classes);
            return out;
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; ++i) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Applies {@link FigurePick#RULE} to the training scenes. */
    FigurePick pick(Path teacherMaps, Path oracleMaps) throws IOException {
        List<Scenes.Scene> eligible = scenes.trainScenes().stream()
                .filter(sc -> sc.items().size() >= 3 && sc.items().get(1).cls() != sc.label()).toList();
        if (eligible.isEmpty())  // scenes of fewer items (--items): the second item of any scene with two classes
            eligible = scenes.trainScenes().stream()
                    .filter(sc -> sc.items().size() >= 2 && sc.items().get(1).cls() != sc.label()).toList();
        if (eligible.isEmpty()) return null;
        List<int[]> boxes = eligible.stream().map(sc -> sc.items().get(1).box()).toList();
        float[][] t = pooled(teacherMaps, eligible, boxes, chosen(Demo.RELABEL_TEACHER));
        float[][] r = pooled(oracleMaps, eligible, boxes, chosen(Demo.RELABEL_ORACLE));
        int n = eligible.size(), tItem = 0, tLabel = 0, rItem = 0, rLabel = 0;
        Integer[] order = new Integer[n];
        double[] p = new double[n];
        for (int i = 0; i < n; ++i) {
            Scenes.Scene sc = eligible.get(i);
            int item = sc.items().get(1).cls();
            p[i] = t[i][item];
            order[i] = i;
            tItem += argmax(t[i]) == item ? 1 : 0;
            tLabel += argmax(t[i]) == sc.label() ? 1 : 0;
            rItem += argmax(r[i]) == item ? 1 : 0;
            rLabel += argmax(r[i]) == sc.label() ? 1 : 0;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingDouble((Integer i) -> p[i]));  // stable: scene order
        int median = order[(n - 1) / 2];
        Scenes.Scene sc = eligible.get(median);
        return new FigurePick(sc, sc.items().get(1), n, p[median], 100.0 * tItem / n, 100.0 * tLabel / n,
                100.0 * rItem / n, 100.0 * rLabel / n);
    }

    private Candidate chosen(String method) {
        return runs.stream().filter(r -> r.method().equals(method)).findFirst().orElseThrow().candidate();
    }

    /**
     * {@code relabel show} (the CLI, in this JVM) on the scene and crop {@link #pick} chooses, with the teacher's and
     * the oracle's maps, each pooled as the chosen student of that map source pooled (mode, temperature; gt-mix is
     * not drawn).
     */
    List<Path> figures(Path teacherMaps, Path oracleMaps, Consumer<String> log) throws IOException {
        pick = pick(teacherMaps, oracleMaps);
        if (pick == null) {
            log.accept("figures: no training scene has two items of different classes: no label-map figure");
            return List.of();
        }
        Scenes.Scene chosenScene = pick.scene();
        String crop = pick.crop();
        List<Path> out = new ArrayList<>();
        for (String[] f : new String[][] {{"teacher", teacherMaps.toString(), Demo.RELABEL_TEACHER},
                {"oracle", oracleMaps.toString(), Demo.RELABEL_ORACLE}}) {
            Path png = o.out().resolve("show-" + f[0] + ".png");
            // the crop's target as the chosen student trained on it
            Candidate c = chosen(f[2]);
            StringWriter text = new StringWriter();
            PrintWriter pw = new PrintWriter(text);
            int rc = RelabelCli.execute(pw, pw, "show", "--image",
                    scenes.train().resolve(chosenScene.key() + ".jpg").toString(), "--labelmaps", f[1], "--key",
                    chosenScene.key(), "--crop", crop, "--classes", scenes.classNames().toString(), "--top", "2",
                    "--mode", c.mode(), "--temperature", Double.toString(c.temperature()), "--out", png.toString());
            if (rc != 0) throw new IllegalStateException("relabel show failed (exit " + rc + "): " + text);
            log.accept("figure: " + png + " (" + chosenScene.key() + ", crop " + crop + ", " + c.describe() + ")");
            out.add(png);
        }
        log.accept(String.format(Locale.ROOT, "figures: the crop's pooled target names the crop's item first in %.1f%% "
                + "(teacher maps) / %.1f%% (oracle maps) of %d eligible training scenes", pick.teacherItem(),
                pick.oracleItem(), pick.eligible()));
        return out;
    }
}
