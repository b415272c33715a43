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
        b.append(String.format(Locale.ROOT, "| method | pooling (chosen on validation) | val top-1 | test top-1 | "
                + "test multi-label |%n|---|---|---|---|---|%n"));
        for (String m : Demo.METHODS) {
            StudentRun first = runs.stream().filter(r -> r.method().equals(m)).findFirst().orElseThrow();
            Candidate c = first.candidate();
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", m, c == null ? "-" : c.describe(),
                    stat(m, StudentRun::valTop1).format(), stat(m, StudentRun::testTop1).format(),
                    stat(m, StudentRun::testMulti).format()));
        }
        b.append(String.format(Locale.ROOT, "| teacher (reference: trained on other scenes with item masks) | - | %.2f "
                + "| %.2f | %.2f |%n", teacherValTop1, teacher[0], teacher[1]));
        if (seeds > 1) b.append(String.format(Locale.ROOT, "%nStudents: mean ± std over %d seeds %s.%n", seeds, o.seeds()));
        return b.toString();
    }

    /** One sentence per ReLabel student: better or not than one-hot, by how much, on both metrics. */
    List<String> verdict() {
        List<String> out = new ArrayList<>();
        Stat oneTop = stat(Demo.ONE_HOT, StudentRun::testTop1), oneMulti = stat(Demo.ONE_HOT, StudentRun::testMulti);
        Stat lsTop = stat(Demo.SMOOTHING, StudentRun::testTop1);
        for (String m : List.of(Demo.RELABEL_TEACHER, Demo.RELABEL_ORACLE)) {
            Stat top = stat(m, StudentRun::testTop1), multi = stat(m, StudentRun::testMulti);
            double dTop = top.mean() - oneTop.mean(), dMulti = multi.mean() - oneMulti.mean();
            double noise = Math.max(top.std(), oneTop.std());
            String word = dTop > 0 && dMulti > 0 ? "beats" : dTop <= 0 && dMulti <= 0 ? "does not beat" : "is mixed against";
            out.add(String.format(Locale.ROOT, "%s %s one-hot on these test scenes: %+.2f top-1, %+.2f multi-label "
                    + "(points)%s; against label smoothing %+.2f top-1.", m, word, dTop, dMulti,
                    o.seeds().size() > 1 ? String.format(Locale.ROOT, " (seed std up to %.2f)", noise)
                            : " (one seed: differences of about a point are within seed noise; --full runs 3 seeds)",
                    top.mean() - lsTop.mean()));
        }
        if (teacher[0] <= oneTop.mean())
            out.add(String.format(Locale.ROOT, "The teacher is not stronger than the one-hot student on the test scenes "
                    + "(top-1 %.2f vs %.2f): ReLabel's premise is a teacher that knows more than its student (the "
                    + "paper's EfficientNet-L2 teacher: 88%% ImageNet top-1, its ResNet-50 students: 78%%); a teacher "
                    + "no better than the student mostly adds its own errors to the targets.", teacher[0], oneTop.mean()));
        return out;
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
                        + "flip, %d epochs, batch %d, SGD lr %s cosine, wd 5e-4; evaluated on the whole scene at %d px.%n",
                o.studentWidth(), o.studentSize(), o.rrcMinimum(), o.epochs(), o.batchSize(), Demo.trim(o.lr()),
                o.studentSize());
        w.printf(Locale.ROOT, "- Label smoothing: epsilon %s.%n", Demo.trim(o.smoothing()));
        w.printf(Locale.ROOT, "- Teacher: small CNN width %d at %d px (students: %d px), trained for %d epochs on %d "
                        + "other scenes of the training items with LabelPooling targets from *their* oracle maps: item "
                        + "masks, supervision the students never get (the paper's teacher saw extra data). `annotate` "
                        + "at %d px writes its dense top-5 maps of the students' training scenes (`%s`).%n",
                o.teacherWidth(), o.teacherSize(), o.studentSize(), o.teacherEpochs(), o.teacherScenes(),
                o.annotateSize(), teacherRun);
        w.printf(Locale.ROOT, "- Oracle maps: per %dx%d cell and class, the fraction of the cell covered by that "
                + "class's visible ink, times %s (logits), top-5.%n", o.oracleGrid(), o.oracleGrid(), Demo.trim(o.oracleScale()));
        w.println();
        w.println("## Choosing the pooling on validation scenes (seed " + o.seeds().get(0) + ")");
        w.println();
        w.println("| maps | pooling | val top-1 |");
        w.println("|---|---|---|");
        for (StudentRun r : candidates)
            w.printf(Locale.ROOT, "| %s | %s | %.2f |%n", r.method(), r.candidate().describe(), r.valTop1());
        w.println();
        w.println("## Figures");
        w.println();
        w.println("- `curves.png`: validation top-1 per epoch and training loss of every student (first seed).");
        w.println("- `show-teacher.png`, `show-oracle.png`: one training scene, the top classes of its teacher and "
                + "oracle maps, and a crop's pooled soft target (`relabel show`).");
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
        Trainer.writeAtomically(file, JSON.writeValueAsString(root));
        return file;
    }

    private static ObjectNode put(ObjectNode n, StudentRun r) {
        n.put("method", r.method()).put("seed", r.seed()).put("val_top1", r.valTop1()).put("seconds", r.seconds())
                .put("run", r.dir().toString());
        if (r.candidate() != null)
            n.putObject("pooling").put("mode", r.candidate().mode()).put("temperature", r.candidate().temperature())
                    .put("gt_mix", r.candidate().gtMix());
        return n;
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
     * {@code relabel show} (the CLI, in this JVM) on the training scene with the most items: its teacher and oracle
     * maps, with the crop of its second-largest item (where one-hot training would say the largest), pooled as the
     * chosen student of each map source pooled it (mode, temperature; gt-mix is not drawn).
     */
    List<Path> figures(Path teacherMaps, Path oracleMaps, Consumer<String> log) {
        Scenes.Scene pick = scenes.trainScenes().get(0);
        for (Scenes.Scene s : scenes.trainScenes().subList(0, Math.min(200, scenes.trainScenes().size())))
            if (s.items().size() > pick.items().size()
                    || (s.items().size() == pick.items().size() && s.classes().length > pick.classes().length)) pick = s;
        int[] box = pick.items().size() > 1 ? pick.items().get(1).box() : pick.items().get(0).box();
        String crop = box[0] + "," + box[1] + "," + box[2] + "," + box[3];
        List<Path> out = new ArrayList<>();
        for (String[] f : new String[][] {{"teacher", teacherMaps.toString(), Demo.RELABEL_TEACHER},
                {"oracle", oracleMaps.toString(), Demo.RELABEL_ORACLE}}) {
            Path png = o.out().resolve("show-" + f[0] + ".png");
            // the crop's target as the chosen student trained on it
            Candidate c = runs.stream().filter(r -> r.method().equals(f[2])).findFirst().orElseThrow().candidate();
            StringWriter text = new StringWriter();
            PrintWriter pw = new PrintWriter(text);
            int rc = RelabelCli.execute(pw, pw, "show", "--image", scenes.train().resolve(pick.key() + ".jpg").toString(),
                    "--labelmaps", f[1], "--key", pick.key(), "--crop", crop, "--classes", scenes.classNames().toString(),
                    "--top", "2", "--mode", c.mode(), "--temperature", Double.toString(c.temperature()), "--out",
                    png.toString());
            if (rc != 0) throw new IllegalStateException("relabel show failed (exit " + rc + "): " + text);
            log.accept("figure: " + png + " (" + pick.key() + ", crop " + crop + ", " + c.describe() + ")");
            out.add(png);
        }
        return out;
    }
}
