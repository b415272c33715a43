package org.relabel4j.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.relabel4j.annotate.Annotator;
import org.relabel4j.annotate.OracleMaps;
import org.relabel4j.data.MultiListFile;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.MultiLabelEvaluator;
import org.relabel4j.eval.MultiLabelMetrics;
import org.relabel4j.io.AtomicFiles;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.torch.Devices;
import org.relabel4j.train.TrainConfig;
import org.relabel4j.train.TrainListener;
import org.relabel4j.train.Trainer;

/**
 * {@code relabel demo --task multilabel}: the paper's COCO comparison in miniature on the Fashion-MNIST scenes of
 * {@link Demo}. Every item of a scene is a label (the multi-label truth); three students, small CNNs trained with
 * BCE ({@code train.task: multilabel}) through the same Trainer:
 *
 * <ul>
 *   <li><b>multi-hot BCE</b>: the image-level multi-hot label of every crop;
 *   <li><b>ReLabel (teacher maps)</b>: the sigmoid of the pooled logit of a multi-label teacher's maps (the teacher:
 *       a CNN of the demo's teacher size trained with multi-hot BCE on other scenes, then {@code annotate}d over the
 *       students' training scenes);
 *   <li><b>ReLabel (oracle maps)</b>: the pooled covered fraction of the scene's oracle maps (per cell and class the
 *       fraction of the cell covered by the class's visible ink, ink-weighted; scale 1).
 * </ul>
 *
 * Every method chooses its learning rate among the same candidates on validation scenes by mAP (equal budget; BCE
 * averaged over the C classes has 1/C of softmax cross-entropy's gradient per logit, so the CLI's default candidates
 * and the teacher's rate are the single-label demo's times C = 10), the
 * chosen setting is trained with every seed, and test mAP (and CF1/OF1) is measured once per chosen student. The
 * verdict: a method beats another when its mean test mAP is higher by more than the sum of both seed standard
 * deviations; with one seed there is no verdict. Scenes, oracle maps, teacher and teacher maps are cached.
 */
public final class MultiLabelDemo {
    public static final String MULTI_HOT = "multi-hot BCE", TEACHER = "ReLabel (teacher maps)", ORACLE = "ReLabel (oracle maps)";
    public static final List<String> METHODS = List.of(MULTI_HOT, TEACHER, ORACLE);

    /** One trained student: its method, seed, learning rate, validation mAP, test numbers (NaN: not tested), target. */
    public record Run(String method, int seed, double lr, double valMap, double testMap, double testCf1, double testOf1,
            double seconds, Path dir, Target target) {}

    /**
     * A target setting of a ReLabel method ({@code data.relabel.multilabel_target}, {@code threshold}; null kind:
     * the multi-hot label). Part of the method's validation candidates, as its learning rate is.
     */
    public record Target(String kind, double threshold) {
        /** The multi-hot baseline's only target. */
        public static final Target MULTI_HOT = new Target(null, 0);

        /** e.g. {@code value >= 0.01}, {@code sigmoid (soft)}, {@code multi-hot}. */
        public String describe() {
            return kind == null ? "multi-hot" : kind + (threshold > 0 ? " >= " + Demo.trim(threshold) : " (soft)");
        }
    }

    /**
     * The target candidates of each method: the teacher maps' sigmoid of the pooled logit, soft or binarized at 0.5
     * (the teacher's own decision rule); the oracle maps' pooled covered fraction, soft or binarized at 0.01
     * ("the class's ink is in the crop": a crop of the demo's sizes showing any part of an item has a pooled ink
     * fraction above 0.01, one missing it 0).
     */
    public static final Map<String, List<Target>> TARGETS = Map.of(MULTI_HOT, List.of(Target.MULTI_HOT),
            TEACHER, List.of(new Target("sigmoid", 0), new Target("sigmoid", 0.5)),
            ORACLE, List.of(new Target("value", 0), new Target("value", 0.01)));

    /**
     * The learning rates a method tries when it has {@code targets} target settings and the methods with the most
     * settings have {@code most}: every method gets the same number of validation candidates. A method with fewer
     * target settings gets a finer learning-rate grid over the same range: each rate {@code l_i} of the sorted grid
     * is followed by {@code l_i r^(j/f)}, j = 1 .. f-1, with f = most / targets and r the ratio to the next rate
     * (for the last, to the previous one; 2 for a single rate).
     */
    static List<Double> lrGrid(List<Double> lrs, int targets, int most) {
        if (most % targets != 0) throw new IllegalArgumentException(most + " candidates are not a multiple of " + targets);
        int f = most / targets;
        List<Double> l = lrs.stream().distinct().sorted().toList(), out = new ArrayList<>();
        for (int i = 0; i < l.size(); ++i) {
            double r = l.size() == 1 ? 2 : i + 1 < l.size() ? l.get(i + 1) / l.get(i) : l.get(i) / l.get(i - 1);
            for (int j = 0; j < f; ++j) out.add(Double.parseDouble(String.format(Locale.ROOT, "%.4g", l.get(i) * Math.pow(r, (double) j / f))));
        }
        return out;
    }

    /** The demo's outcome. */
    public record Result(Path report, Path json, List<Run> runs, List<Run> candidates, double teacherTestMap,
            String table, List<String> verdict, double seconds) {}

    private final Demo.Options o;
    private final List<Double> lrs;
    private final Consumer<String> log;

    /** The demo with {@code o}'s data, sizes, seeds and device; every method tries the learning rates {@code lrs}. */
    public MultiLabelDemo(Demo.Options o, List<Double> lrs, Consumer<String> log) {
        if (lrs.isEmpty()) throw new IllegalArgumentException("no learning-rate candidates");
        this.o = o;
        this.lrs = List.copyOf(lrs);
        this.log = log;
    }

    private record Sets(Path root, Path train, Path val, Path test, Path teacher, List<Scenes.Scene> trainScenes,
            List<Scenes.Scene> teacherScenes) {}

    /** Runs the whole demo and writes {@code report-multilabel.md} and {@code report-multilabel.json}. */
    public Result run() throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(o.out());
        Files.createDirectories(o.cache());
        if (!o.device().equals("cpu")) Devices.torchDevice(o.device());
        FashionMnist.Data data = FashionMnist.load(o.fashionMnist());
        if (data.train().count() <= Demo.HELD_BACK_FROM)
            throw new IOException(data.dir() + ": the train split has " + data.train().count() + " items; the demo "
                    + "needs more than " + Demo.HELD_BACK_FROM);
        Path students = o.out().resolve("students-multilabel");
        Demo.deleteTree(students);
        Sets s = scenes(data);
        Path oracleMaps = oracle(data, s.trainScenes(), s.root(), "ml-oracle-maps");
        Path teacherRun = teacher(s);
        Path teacherMaps = annotate(s, teacherRun);
        figure(s, teacherMaps, oracleMaps, o.out().resolve("figure-multilabel.png"));

        List<Run> runs = new ArrayList<>(), candidates = new ArrayList<>();
        int first = o.seeds().get(0);
        int most = TARGETS.values().stream().mapToInt(List::size).max().orElseThrow();
        for (String method : METHODS) {
            Path maps = method.equals(TEACHER) ? teacherMaps : method.equals(ORACLE) ? oracleMaps : null;
            List<Target> targets = TARGETS.get(method);
            List<Double> grid = lrGrid(lrs, targets.size(), most);
            Run best = null;
            int n = 0;
            for (Target target : targets)
                for (double lr : grid) {
                    Run r = student(s, students, method, first, lr, maps, target, true);
                    candidates.add(r);
                    ++n;
                    if (!Double.isNaN(r.valMap()) && (best == null || r.valMap() > best.valMap())) best = r;
                }
            if (best == null) throw new IllegalStateException(method + ": the training diverged at every learning rate " + grid);
            log.accept(String.format(Locale.ROOT, "%s: chose lr %s, target %s on validation scenes (val mAP %.2f, best of %d)",
                    method, Demo.trim(best.lr()), best.target().describe(), best.valMap(), n));
            runs.add(best);
            for (int seed : o.seeds().subList(1, o.seeds().size()))
                runs.add(student(s, students, method, seed, best.lr(), maps, best.target(), false));
        }
        MultiListFile test = MultiListFile.open(s.test().resolve("ml.txt"));
        List<Run> tested = new ArrayList<>();
        for (Run r : runs) {
            MultiLabelMetrics.Result m = evaluate(test, r.dir().resolve("model.pth"), o.studentWidth(), o.studentSize());
            tested.add(new Run(r.method(), r.seed(), r.lr(), r.valMap(), 100 * m.map(), 100 * m.atThreshold().cf1(),
                    100 * m.atThreshold().of1(), r.seconds(), r.dir(), r.target()));
        }
        double teacherMap = 100 * evaluate(test, teacherRun.resolve("model.pth"), o.teacherWidth(), o.teacherSize()).map();
        double seconds = (System.nanoTime() - t0) / 1e9;
        String table = table(tested);
        List<String> verdict = verdict(tested);
        Path md = o.out().resolve("report-multilabel.md"), json = o.out().resolve("report-multilabel.json");
        writeMarkdown(md, table, verdict, tested, candidates, teacherMap, seconds);
        writeJson(json, tested, candidates, teacherMap, verdict, seconds);
        log.accept("report: " + md);
        return new Result(md, json, tested, candidates, teacherMap, table, verdict, seconds);
    }

    // ---------------------------------------------------------------- data

    private Sets scenes(FashionMnist.Data data) throws IOException {
        String key = Demo.hash("ml-scenes-v1", o.spec().describe(), o.trainScenes(), o.valScenes(), o.testScenes(),
                o.teacherScenes(), data.train().count(), data.test().count());
        Path root = o.cache().resolve("ml-scenes-" + key);
        int[] trainPool = IntStream.range(0, Demo.HELD_BACK_FROM).toArray();
        int[] valPool = IntStream.range(Demo.HELD_BACK_FROM, data.train().count()).toArray();
        int[] testPool = IntStream.range(0, data.test().count()).toArray();
        List<Scenes.Scene> train = Scenes.layout(data.train(), trainPool, o.trainScenes(), o.spec(), 1);
        List<Scenes.Scene> teacher = Scenes.layout(data.train(), trainPool, o.teacherScenes(), o.spec(), 4);
        if (!Files.isDirectory(root)) {
            long t = System.nanoTime();
            Path tmp = root.resolveSibling(root.getFileName() + ".partial");
            Demo.deleteTree(tmp);
            write(data.train(), train, tmp.resolve("train"));
            write(data.train(), Scenes.layout(data.train(), valPool, o.valScenes(), o.spec(), 2), tmp.resolve("val"));
            write(data.test(), Scenes.layout(data.test(), testPool, o.testScenes(), o.spec(), 3), tmp.resolve("test"));
            write(data.train(), teacher, tmp.resolve("teacher-train"));
            Files.move(tmp, root, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            log.accept(String.format(Locale.ROOT, "scenes: wrote %d train, %d val, %d test and %d teacher scenes with "
                    + "multi-label lists to %s in %.1f s", o.trainScenes(), o.valScenes(), o.testScenes(),
                    o.teacherScenes(), root, (System.nanoTime() - t) / 1e9));
        } else {
            log.accept("scenes: cached in " + root);
        }
        return new Sets(root, root.resolve("train"), root.resolve("val"), root.resolve("test"),
                root.resolve("teacher-train"), train, teacher);
    }

    /** The scenes' JPEGs, side files, and {@code ml.txt}: {@code <key>.jpg<TAB>classes present}. */
    private void write(FashionMnist.Split split, List<Scenes.Scene> scenes, Path dir) throws IOException {
        Files.createDirectories(dir);
        Scenes.write(split, scenes, o.spec(), dir, dir.resolve("scenes.json"), dir.resolve("real.json"));
        String lines = scenes.stream().map(sc -> sc.key() + ".jpg\t" + IntStream.of(sc.classes())
                .mapToObj(Integer::toString).collect(Collectors.joining(","))).collect(Collectors.joining("\n")) + "\n";
        Files.writeString(dir.resolve("ml.txt"), lines, StandardCharsets.UTF_8);
    }

    /** Oracle maps (ink fraction per cell and class, scale 1, top-5) of {@code scenes} into a cached store. */
    private Path oracle(FashionMnist.Data data, List<Scenes.Scene> scenes, Path root, String name) throws IOException {
        int classes = FashionMnist.CLASSES.size(), g = o.oracleGrid(), k = 5, cells = g * g;
        Path out = o.cache().resolve(name + "-" + Demo.hash("ml-oracle-v1", root.getFileName(), name, g) + ".rlm");
        if (Files.isRegularFile(out)) {
            log.accept(name + ": cached in " + out);
            return out;
        }
        if (LabelMapStoreWriter.unfinished(out)) LabelMapStoreWriter.discard(out);
        MapFormat format = new MapFormat(classes, k, g, g, DType.FLOAT16, MapFormat.indexTypeFor(classes));
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("oracle", "visible ink fraction per cell and class (multi-label demo)");
        long t = System.nanoTime();
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, format, meta)) {
            float[][] maps = new float[scenes.size()][];
            IntStream.range(0, scenes.size()).parallel().forEach(i -> maps[i] = Scenes.inkMap(
                    Scenes.render(data.train(), scenes.get(i), o.spec().canvas()), scenes.get(i), classes, g, 1f));
            float[] scores = new float[k * cells];
            int[] ids = new int[k * cells];
            for (int i = 0; i < scenes.size(); ++i) {
                OracleMaps.topK(maps[i], classes, cells, k, scores, ids);
                w.append(scenes.get(i).key(), scores, ids);
            }
            w.finish();
        }
        log.accept(String.format(Locale.ROOT, "%s: %d maps %s in %.1f s -> %s", name, scenes.size(), format,
                (System.nanoTime() - t) / 1e9, out));
        return out;
    }

    // ---------------------------------------------------------------- teacher

    private Path teacher(Sets s) throws IOException {
        List<String> cfg = List.of("train.task=multilabel", "model.arch=small-cnn", "model.width=" + o.teacherWidth(),
                "data.train=multilist:" + s.teacher().resolve("ml.txt"), "data.val=multilist:" + s.val().resolve("ml.txt"),
                "data.image_size=" + o.teacherSize(), "data.rrc_minimum=" + o.rrcMinimum(), "data.crop_ratio=1.0",
                "optim.epochs=" + o.teacherEpochs(), "optim.batch_size=" + o.batchSize(),
                "optim.lr.init=" + o.lr() * FashionMnist.CLASSES.size(), "compute.seed=0");  // BCE's mean over classes
        Path dir = o.cache().resolve("ml-teacher-" + Demo.hash("ml-teacher-v2", s.root().getFileName(), cfg));
        if (Files.isRegularFile(dir.resolve("model.pth"))) {
            log.accept("teacher: cached in " + dir);
            return dir;
        }
        Path tmp = dir.resolveSibling(dir.getFileName() + ".partial");
        log.accept("teacher: a width-" + o.teacherWidth() + " CNN, BCE on the multi-hot labels of " + o.teacherScenes()
                + " other scenes, " + o.teacherEpochs() + " epochs");
        train(cfg, tmp, "teacher");
        Demo.deleteTree(dir);
        Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    private Path annotate(Sets s, Path teacherRun) throws IOException {
        Path out = o.cache().resolve("ml-teacher-maps-" + Demo.hash("ml-annotate-v1", teacherRun.getFileName(),
                s.root().getFileName(), o.annotateSize()) + ".rlm");
        if (Files.isRegularFile(out)) {
            log.accept("teacher maps: cached in " + out);
            return out;
        }
        if (LabelMapStoreWriter.unfinished(out)) LabelMapStoreWriter.discard(out);
        try (Classifier teacher = Models.load("small-cnn", teacherRun.resolve("model.pth"), FashionMnist.CLASSES.size())) {
            Annotator a = Annotator.builder(teacher).teacherName("multi-label demo teacher " + teacherRun.getFileName())
                    .size(o.annotateSize()).k(5).batchSize(o.batchSize()).workers(Math.max(2, o.workers()))
                    .device(o.device()).scoreType(DType.FLOAT16).log(m -> log.accept("annotate: " + m)).build();
            Annotator.Summary sum = a.run(MultiListFile.open(s.train().resolve("ml.txt")), out);
            log.accept(String.format(Locale.ROOT, "teacher maps: %d maps %s in %.1f s -> %s", sum.written(),
                    sum.format(), sum.seconds(), out));
        }
        return out;
    }

    /**
     * The per-class maps of the first training scene: a row of the teacher's maps (sigmoid of the logit per cell)
     * and a row of the oracle maps (ink fraction per cell), one panel per class of the scene.
     */
    private void figure(Sets s, Path teacherMaps, Path oracleMaps, Path out) throws IOException {
        Scenes.Scene scene = s.trainScenes().get(0);
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(s.train().resolve(scene.key() + ".jpg").toFile());
        if (image == null) throw new IOException(s.train().resolve(scene.key() + ".jpg") + ": not a readable image");
        List<Integer> classes = IntStream.of(scene.classes()).boxed().toList();
        List<java.awt.image.BufferedImage> rows = new ArrayList<>();
        for (Path store : List.of(teacherMaps, oracleMaps)) {
            boolean teacher = store.equals(teacherMaps);
            try (org.relabel4j.store.LabelMapStore st = org.relabel4j.store.LabelMapStore.open(store)) {
                org.relabel4j.store.LabelMap map = st.map(st.require(scene.key()));
                rows.add(org.relabel4j.annotate.MultiLabelMapFigure.row(image, image.getWidth(), image.getHeight(), map,
                        teacher ? org.relabel4j.annotate.MultiLabelMapFigure.Values.SIGMOID
                                : org.relabel4j.annotate.MultiLabelMapFigure.Values.VALUE, classes, FashionMnist.CLASSES,
                        teacher ? "teacher: sigmoid(logit)" : "oracle: ink fraction"));
            }
        }
        org.relabel4j.annotate.LabelMapFigure.writePng(org.relabel4j.annotate.MultiLabelMapFigure.stack(rows), out);
        log.accept("figure: per-class maps of training scene " + scene.key() + " -> " + out);
    }

    // ---------------------------------------------------------------- students

    private Run student(Sets s, Path students, String method, int seed, double lr, Path maps, Target target,
            boolean candidate) throws IOException {
        List<String> cfg = new ArrayList<>(List.of("train.task=multilabel", "model.arch=small-cnn",
                "model.width=" + o.studentWidth(), "data.train=multilist:" + s.train().resolve("ml.txt"),
                "data.val=multilist:" + s.val().resolve("ml.txt"), "data.image_size=" + o.studentSize(),
                "data.rrc_minimum=" + o.rrcMinimum(), "data.crop_ratio=1.0", "optim.epochs=" + o.epochs(),
                "optim.batch_size=" + o.batchSize(), "optim.lr.init=" + lr, "compute.seed=" + seed));
        String name = method.equals(MULTI_HOT) ? "multi-hot" : method.equals(TEACHER) ? "relabel-teacher" : "relabel-oracle";
        if (maps != null) {
            cfg.addAll(List.of("data.relabel.use=true", "data.relabel.path=" + maps,
                    "data.relabel.multilabel_target=" + target.kind(), "data.relabel.threshold=" + target.threshold()));
            name += "-" + target.kind() + (target.threshold() > 0 ? "-thr" + Demo.trim(target.threshold()) : "");
        }
        name += "-lr" + Demo.trim(lr);
        Path dir = students.resolve(name + "-seed" + seed);
        log.accept("student: " + method + " (lr " + Demo.trim(lr) + ", target " + target.describe() + "), seed " + seed);
        Trainer.Result r;
        try {
            r = train(cfg, dir, name);
        } catch (IllegalStateException e) {
            if (!candidate || e.getMessage() == null || !e.getMessage().startsWith("the loss became")) throw e;
            log.accept(name + ": diverged (" + e.getMessage() + "): not a candidate");
            return new Run(method, seed, lr, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, dir, target);
        }
        double valMap = new ObjectMapper().readTree(dir.resolve("summary.json").toFile()).path("val_map").asDouble(Double.NaN);
        return new Run(method, seed, lr, valMap, Double.NaN, Double.NaN, Double.NaN, r.seconds(), dir, target);
    }

    private Trainer.Result train(List<String> overrides, Path dir, String what) throws IOException {
        List<String> all = new ArrayList<>(List.of("data.jitter=0", "data.lighting=0", "optim.warmup.epochs=0",
                "optim.wd.base=5e-4", "util.checkpoint_every=0", "util.print_freq=1000000",
                "compute.num_workers=" + o.workers(), "compute.threads=" + o.threads(), "compute.device=" + o.device(),
                "util.out=" + dir));
        all.addAll(overrides);
        TrainConfig config = TrainConfig.load("tiny", null, all);
        Demo.deleteTree(dir);
        return new Trainer(config, new TrainListener() {
            @Override
            public void log(String line) {
                if (line.startsWith("epoch")) log.accept(what + ": " + line.strip());
            }
        }, null).run(null);
    }

    private MultiLabelMetrics.Result evaluate(MultiListFile test, Path model, int width, int size) throws IOException {
        try (Classifier c = Models.load("small-cnn", model, FashionMnist.CLASSES.size())) {
            Evaluator settings = Evaluator.builder().size(size).cropPct(1.0).batchSize(256).workers(Math.max(1, o.workers()))
                    .device(o.device()).build();
            return new MultiLabelEvaluator(settings).run(c, test, null).metrics(0.5);
        }
    }

    // ---------------------------------------------------------------- report

    private static double[] meanStd(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
        double[] v = runs.stream().mapToDouble(f).toArray();
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN), ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        return new double[] {mean, v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0, v.length};
    }

    private String table(List<Run> tested) {
        StringBuilder sb = new StringBuilder("| method | lr, target (chosen on val) | val mAP | test mAP | test CF1 | test OF1 | seeds |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (String m : METHODS) {
            List<Run> r = tested.stream().filter(x -> x.method().equals(m)).toList();
            double[] map = meanStd(r, Run::testMap), cf1 = meanStd(r, Run::testCf1), of1 = meanStd(r, Run::testOf1);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f ± %.2f | %.2f ± %.2f | %.2f ± %.2f | %d |%n", m,
                    Demo.trim(r.get(0).lr()) + ", " + r.get(0).target().describe(), r.get(0).valMap(), map[0], map[1], cf1[0], cf1[1], of1[0], of1[1], r.size()));
        }
        return sb.toString();
    }

    /** Each ReLabel method against multi-hot: beats / loses only beyond the sum of the seed standard deviations. */
    static List<String> verdict(List<Run> tested) {
        List<String> out = new ArrayList<>();
        List<Run> base = tested.stream().filter(x -> x.method().equals(MULTI_HOT)).toList();
        double[] b = meanStd(base, Run::testMap);
        for (String m : List.of(TEACHER, ORACLE)) {
            double[] a = meanStd(tested.stream().filter(x -> x.method().equals(m)).toList(), Run::testMap);
            double d = a[0] - b[0];
            if (a[2] < 2 || b[2] < 2) {
                out.add(String.format(Locale.ROOT, "%s vs %s: %+.2f mAP with one seed: no verdict (run --full for 3 seeds)",
                        m, MULTI_HOT, d));
                continue;
            }
            double spread = a[1] + b[1];
            String word = d > spread ? "beats" : d < -spread ? "loses to" : "does not differ beyond the seed spread from";
            out.add(String.format(Locale.ROOT, "%s %s %s: %+.2f mAP (seed std sum %.2f)", m, word, MULTI_HOT, d, spread));
        }
        return out;
    }

    private void writeMarkdown(Path file, String table, List<String> verdict, List<Run> tested, List<Run> candidates,
            double teacherMap, double seconds) throws IOException {
        StringBuilder sb = new StringBuilder("# relabel demo --task multilabel\n\n");
        sb.append(String.format(Locale.ROOT, "Fashion-MNIST scenes (%s): %d train, %d val, %d test; students: small CNN "
                        + "width %d at %d px, %d epochs, batch %d; teacher: width %d at %d px, %d epochs on %d other scenes "
                        + "(test mAP %.2f). Every method chose its learning rate (base grid %s, refined for the multi-hot "
                        + "baseline to the same number of candidates) and target setting on validation mAP. %.0f s.%n%n",
                o.spec().describe(), o.trainScenes(), o.valScenes(), o.testScenes(), o.studentWidth(), o.studentSize(),
                o.epochs(), o.batchSize(), o.teacherWidth(), o.teacherSize(), o.teacherEpochs(), o.teacherScenes(),
                teacherMap, lrs, seconds));
        sb.append(table).append('\n');
        for (String v : verdict) sb.append("- ").append(v).append('\n');
        sb.append("\nPer-class label maps of one training scene (teacher: sigmoid of the logit per cell; oracle: ink "
                + "fraction per cell): figure-multilabel.png\n");
        sb.append("\nEvery candidate (first seed): \n\n| method | target | lr | val mAP |\n|---|---|---|---|\n");
        for (Run r : candidates)
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f |%n", r.method(), r.target().describe(),
                    Demo.trim(r.lr()), r.valMap()));
        String text = sb.toString();
        AtomicFiles.write(file, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }

    private void writeJson(Path file, List<Run> tested, List<Run> candidates, double teacherMap, List<String> verdict,
            double seconds) throws IOException {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        root.put("task", "multilabel").put("seconds", seconds).put("teacher_test_map", teacherMap)
                .put("scenes", o.spec().describe());
        root.putPOJO("lr_candidates", lrs);
        ArrayNode t = root.putArray("tested"), c = root.putArray("candidates");
        for (Run r : tested)
            t.addObject().put("method", r.method()).put("target", r.target().describe()).put("seed", r.seed()).put("lr", r.lr()).put("val_map", r.valMap())
                    .put("test_map", r.testMap()).put("test_cf1", r.testCf1()).put("test_of1", r.testOf1())
                    .put("dir", r.dir().toString());
        for (Run r : candidates)
            c.addObject().put("method", r.method()).put("target", r.target().describe()).put("seed", r.seed())
                    .put("lr", r.lr()).put("val_map", r.valMap());
        ArrayNode v = root.putArray("verdict");
        verdict.forEach(v::add);
        String json = m.writeValueAsString(root) + "\n";
        AtomicFiles.write(file, tmp -> Files.writeString(tmp, json, StandardCharsets.UTF_8));
    }
}
