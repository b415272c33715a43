package org.relabel4j.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.relabel4j.annotate.Annotator;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.ImageFolder;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.Metrics;
import org.relabel4j.eval.RealLabels;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.TopK;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.torch.Devices;
import org.relabel4j.train.TrainConfig;
import org.relabel4j.train.TrainListener;
import org.relabel4j.train.Trainer;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;

/**
 * The end-to-end ReLabel demo on Fashion-MNIST scenes, through the library's public API only:
 * <ol>
 *   <li>scenes ({@link Scenes}): training scenes from Fashion-MNIST's train split (its first 50,000 items), validation
 *       scenes from the held-back rest, test scenes from the test split; JPEG ImageFolders + item truth;</li>
 *   <li>oracle maps from the items' true visible ink ({@link Scenes#inkMap}), in a store;</li>
 *   <li>a teacher: a fully convolutional CNN at a higher resolution than the students, trained (by {@link Trainer},
 *       LabelPooling targets) on <em>other</em> scenes of the training items with their oracle maps: item masks, the
 *       supervision the students never get; {@link Annotator} then writes its dense top-k maps of the students'
 *       training scenes into a store;</li>
 *   <li>students (same architecture, budget, seeds): one-hot, label smoothing, ReLabel with teacher maps, ReLabel
 *       with oracle maps; every method chooses its setting by validation top-1 among as many settings as every other
 *       (the same validation budget): one-hot its learning rate ({@link Options#oneHot}), label smoothing its epsilon
 *       and learning rate ({@link Options#smoothing}), each ReLabel student its pooling mode, temperature, gt-mix and lr
 *       ({@link Options#candidates}); never on test scenes, which are read once, at the end;</li>
 *   <li>{@link Evaluator} on the test scenes: top-1 (the largest item) and multi-label accuracy (the top-1 names
 *       any item present, via {@link RealLabels}); the teacher too;</li>
 *   <li>{@code report.md} + {@code report.json}, {@code curves.png}, and {@code relabel show} figures.</li>
 * </ol>
 * Scenes, teacher and stores are cached under {@link Options#cache} by a hash of everything they depend on.
 */
public final class Demo {
    /** Fashion-MNIST's train split: items before this build training scenes, the rest validation scenes. */
    public static final int HELD_BACK_FROM = 50_000;

    /**
     * A ReLabel student's setting tried on validation scenes: pooling mode, temperature, gt-mix, and its learning rate
     * ({@code lr} 0: the demo's {@link Options#lr}).
     */
    public record Candidate(String mode, double temperature, double gtMix, double lr) {
        public Candidate {
            if (!mode.equals("logits") && !mode.equals("probs"))
                throw new IllegalArgumentException("candidate mode must be logits or probs, got '" + mode + "'");
            if (!(temperature > 0)) throw new IllegalArgumentException("candidate temperature must be > 0, got " + temperature);
            if (!(gtMix >= 0 && gtMix <= 1)) throw new IllegalArgumentException("candidate gt-mix must be in [0, 1], got " + gtMix);
            if (!(lr >= 0)) throw new IllegalArgumentException("candidate learning rate must be > 0, got " + lr);
        }

        /** A pooling at the demo's learning rate. */
        public Candidate(String mode, double temperature, double gtMix) {
            this(mode, temperature, gtMix, 0);
        }

        /** Parses "mode:T[:gtmix[:lr]]" (e.g. "logits:1", "probs:0.5:0.5", "logits:0.3:0:0.1"). */
        public static Candidate parse(String s) {
            String[] p = s.trim().split(":");
            if (p.length < 2 || p.length > 4)
                throw new IllegalArgumentException("--candidates entries are mode:T[:gtmix[:lr]] (e.g. logits:1,probs:2:0.5,"
                        + "logits:0.3:0:0.1), got '" + s + "'");
            try {
                double lr = p.length == 4 ? Double.parseDouble(p[3]) : 0;
                if (p.length == 4 && !(lr > 0))
                    throw new IllegalArgumentException("--candidates: the learning rate of '" + s + "' must be > 0");
                return new Candidate(p[0], Double.parseDouble(p[1]), p.length >= 3 ? Double.parseDouble(p[2]) : 0, lr);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--candidates: '" + s + "' has a value that is not a number");
            }
        }

        public String describe() {
            return String.format(Locale.ROOT, "%s T=%s%s", mode, trim(temperature), gtMix > 0 ? " gt-mix " + trim(gtMix) : "");
        }
    }

    /**
     * What a student trains with beyond the shared recipe: its learning rate, label smoothing epsilon (0: none) and,
     * for ReLabel, its pooling. Each method chooses one of its settings on validation scenes.
     */
    public record Setting(double lr, double smoothing, Candidate pooling) {
        public Setting {
            if (!(lr > 0)) throw new IllegalArgumentException("a student's learning rate must be > 0, got " + lr);
            if (!(smoothing >= 0 && smoothing < 1))
                throw new IllegalArgumentException("label smoothing epsilon must be in [0, 1), got " + smoothing);
        }

        public static Setting oneHot(double lr) {
            return new Setting(lr, 0, null);
        }

        public static Setting smoothing(double epsilon, double lr) {
            if (!(epsilon > 0)) throw new IllegalArgumentException("label smoothing epsilon must be > 0, got " + epsilon);
            return new Setting(lr, epsilon, null);
        }

        public static Setting relabel(Candidate pooling, double lr) {
            return new Setting(lr, 0, Objects.requireNonNull(pooling));
        }

        /** Parses "EPS" or "EPS:LR" (label smoothing epsilon and learning rate; LR defaults to {@code lr}). */
        public static Setting parseSmoothing(String s, double lr) {
            String[] p = s.trim().split(":");
            if (p.length < 1 || p.length > 2)
                throw new IllegalArgumentException("--smoothing-candidates entries are EPS[:LR] (e.g. 0.1,0.2:0.1), got '" + s + "'");
            try {
                return smoothing(Double.parseDouble(p[0]), p.length == 2 ? Double.parseDouble(p[1]) : lr);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--smoothing-candidates: '" + s + "' has a value that is not a number");
            }
        }

        /** "lr 0.05", "epsilon 0.1, lr 0.05", "logits T=0.3, lr 0.05". */
        public String describe() {
            String rate = "lr " + trim(lr);
            return pooling != null ? pooling.describe() + ", " + rate : smoothing > 0 ? "epsilon " + trim(smoothing) + ", " + rate : rate;
        }

        /** A file-name part: "lr0.05", "eps0.1-lr0.05", "logits-t0.3-mix0.5-lr0.05". */
        String slug() {
            String rate = "lr" + trim(lr);
            if (pooling != null)
                return pooling.mode() + "-t" + trim(pooling.temperature()) + (pooling.gtMix() > 0 ? "-mix" + trim(pooling.gtMix()) : "")
                        + "-" + rate;
            return smoothing > 0 ? "eps" + trim(smoothing) + "-" + rate : rate;
        }
    }

    /** Everything a demo run depends on. Build with {@link #builder()}. */
    public record Options(Path fashionMnist, Path out, Path cache, SceneSpec spec, int trainScenes, int valScenes,
            int testScenes, int teacherScenes, int teacherEpochs, int teacherWidth, int teacherSize, int annotateSize,
            int epochs, int studentWidth, int studentSize, int batchSize, double lr, double rrcMinimum,
            List<Setting> oneHot, List<Setting> smoothing, int oracleGrid, double oracleScale, List<Candidate> candidates,
            List<Integer> seeds, int workers, int threads, String device) {
        /** The settings {@code method} chooses among on validation scenes (ReLabel: the candidates, at lr unless set). */
        public List<Setting> settings(String method) {
            return switch (method) {
                case ONE_HOT -> oneHot;
                case SMOOTHING -> smoothing;
                case RELABEL_TEACHER, RELABEL_ORACLE -> candidates.stream()
                        .map(c -> Setting.relabel(c, c.lr() > 0 ? c.lr() : lr)).toList();
                default -> throw new IllegalArgumentException("unknown demo method '" + method + "'");
            };
        }
    }

    /**
     * One trained student: method, seed, setting, val and test numbers (NaN: not evaluated; val NaN: the training
     * diverged), its run directory.
     */
    public record StudentRun(String method, int seed, Setting setting, double valTop1, double testTop1,
            double testMulti, double seconds, Path dir) {
        /** The pooling of a ReLabel student, else null. */
        public Candidate candidate() {
            return setting.pooling();
        }
    }

    /** The outcome: the report's files and every number in it. */
    public record Result(Path report, Path json, Path curves, List<Path> figures, double teacherValTop1,
            double teacherTop1, double teacherMulti, List<StudentRun> runs, List<StudentRun> candidateRuns,
            String table, List<String> verdict, double seconds) {
        /** The runs of one method (all seeds). */
        public List<StudentRun> of(String method) {
            return runs.stream().filter(r -> r.method().equals(method)).toList();
        }
    }

    public static final String ONE_HOT = "one-hot", SMOOTHING = "label smoothing", RELABEL_TEACHER = "ReLabel (teacher maps)",
            RELABEL_ORACLE = "ReLabel (oracle maps)";
    public static final List<String> METHODS = List.of(ONE_HOT, SMOOTHING, RELABEL_TEACHER, RELABEL_ORACLE);

    private final Options o;
    private final Consumer<String> log;

    private Demo(Options o, Consumer<String> log) {
        this.o = o;
        this.log = log;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The presets' names: default (3 settings per method, one seed; about 9 minutes on 2 idle cores the first time,
     * less once the teacher is cached), full (6 settings per method, 3 seeds), smoke (CI: 1 setting, minutes).
     */
    public static final List<String> PRESETS = List.of("default", "full", "smoke");

    /** A builder set to a preset ({@link #PRESETS}). */
    public static Builder preset(String name) {
        Builder b = new Builder();
        switch (name) {
            case "default" -> { }
            case "full" -> b.seeds(List.of(0, 1, 2)).candidates(List.of(new Candidate("logits", 0.3, 0, 0.1),
                    new Candidate("logits", 0.3, 0, 0.2), new Candidate("logits", 0.3, 0, 0.4),
                    new Candidate("logits", 0.5, 0, 0.1), new Candidate("logits", 0.5, 0, 0.2),
                    new Candidate("logits", 0.5, 0, 0.4)))
                    .oneHot(List.of(0.05, 0.1, 0.15, 0.2, 0.3, 0.4))
                    .smoothing(List.of(Setting.smoothing(0.1, 0.1), Setting.smoothing(0.1, 0.2),
                            Setting.smoothing(0.1, 0.4), Setting.smoothing(0.2, 0.1), Setting.smoothing(0.2, 0.2),
                            Setting.smoothing(0.2, 0.4)));
            case "smoke" -> b.scenes(3000, 400, 400).teacher(3000, 4, 16, 32).students(5, 16, 24)
                    .candidates(List.of(new Candidate("logits", 0.3, 0))).oneHot(List.of(0.05))
                    .smoothing(List.of(Setting.smoothing(0.1, 0.05)));
            default -> throw new IllegalArgumentException("unknown demo preset '" + name + "' (known: " + PRESETS + ")");
        }
        return b;
    }

    public Options options() {
        return o;
    }

    /** Paths of one generated scene set (cached). */
    record SceneSet(Path root, Path train, Path val, Path test, Path teacherTrain, Path testReal, Path valReal,
            Path classNames, List<Scenes.Scene> trainScenes, List<Scenes.Scene> teacherScenes) {}

    /** Runs the whole demo and writes the report. */
    public Result run() throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(o.out());
        Files.createDirectories(o.cache());
        if (!o.device().equals("cpu")) Devices.torchDevice(o.device());  // a missing GPU fails before any work
        FashionMnist.Data data = FashionMnist.load(o.fashionMnist());
        deleteTree(o.out().resolve("students"));  // this run's students only, not a previous run's other candidates
        log.accept(String.format(Locale.ROOT, "data: Fashion-MNIST from %s (%d train, %d test items)", data.dir(),
                data.train().count(), data.test().count()));
        if (data.train().count() <= HELD_BACK_FROM)
            throw new IOException(data.dir() + ": the train split has " + data.train().count() + " items; the demo "
                    + "needs more than " + HELD_BACK_FROM + " (its validation items are the ones after that)");

        SceneSet scenes = scenes(data);
        Path oracleMaps = oracle(data, scenes, scenes.trainScenes(), "oracle-maps");
        Path teacherRun = teacher(scenes, oracle(data, scenes, scenes.teacherScenes(), "teacher-oracle-maps"));
        Path teacherMaps = annotate(scenes, teacherRun);

        // every method: its settings on validation scenes (first seed), the best one, then the other seeds with it
        List<StudentRun> runs = new ArrayList<>(), candidates = new ArrayList<>();
        int firstSeed = o.seeds().get(0);
        for (String method : METHODS) {
            Path maps = method.equals(RELABEL_TEACHER) ? teacherMaps : method.equals(RELABEL_ORACLE) ? oracleMaps : null;
            StudentRun best = null;
            for (Setting setting : o.settings(method)) {
                StudentRun r = student(scenes, method, firstSeed, maps, setting, true);
                candidates.add(r);
                if (!Double.isNaN(r.valTop1()) && (best == null || r.valTop1() > best.valTop1())) best = r;
            }
            if (best == null)
                throw new IllegalStateException(method + ": the training diverged in every setting tried ("
                        + o.settings(method).stream().map(Setting::describe).toList() + ")");
            log.accept(String.format(Locale.ROOT, "%s: chose %s on validation scenes (val top-1 %.2f, best of %d)",
                    method, best.setting().describe(), best.valTop1(), o.settings(method).size()));
            runs.add(best);
            for (int seed : o.seeds().subList(1, o.seeds().size()))
                runs.add(student(scenes, method, seed, maps, best.setting(), false));
        }

        // test scenes, read once, now that every choice is made: every chosen student, and the teacher
        Dataset test = ImageFolder.open(scenes.test());
        RealLabels real = RealLabels.load(scenes.testReal());
        List<StudentRun> tested = new ArrayList<>();
        for (StudentRun r : runs) {
            double[] acc = evaluate(test, real, r.dir().resolve("model.pth"), o.studentSize());
            tested.add(new StudentRun(r.method(), r.seed(), r.setting(), r.valTop1(), acc[0], acc[1], r.seconds(), r.dir()));
        }
        double[] teacherAcc = evaluate(test, real, teacherRun.resolve("model.pth"), o.teacherSize());
        double teacherValTop1 = summaryValTop1(teacherRun);

        DemoReport report = new DemoReport(o, scenes, teacherRun, teacherValTop1, teacherAcc, tested, candidates);
        List<Path> figures = report.figures(teacherMaps, oracleMaps, log);
        Path curves = report.curves(o.out().resolve("curves.png"));
        double seconds = (System.nanoTime() - t0) / 1e9;
        Path md = report.writeMarkdown(o.out().resolve("report.md"), seconds);
        Path json = report.writeJson(o.out().resolve("report.json"), seconds);
        log.accept("report: " + md);
        return new Result(md, json, curves, figures, teacherValTop1, teacherAcc[0], teacherAcc[1], tested, candidates,
                report.table(), report.verdict(), seconds);
    }

    // ---------------------------------------------------------------- scenes

    private SceneSet scenes(FashionMnist.Data data) throws IOException {
        String key = hash("scenes-v2", o.spec().describe(), o.trainScenes(), o.valScenes(), o.testScenes(),
                o.teacherScenes(), data.train().count(), data.test().count());
        Path root = o.cache().resolve("scenes-" + key);
        int[] trainPool = IntStream.range(0, HELD_BACK_FROM).toArray();
        int[] valPool = IntStream.range(HELD_BACK_FROM, data.train().count()).toArray();
        int[] testPool = IntStream.range(0, data.test().count()).toArray();
        List<Scenes.Scene> train = Scenes.layout(data.train(), trainPool, o.trainScenes(), o.spec(), 1);
        List<Scenes.Scene> teacher = Scenes.layout(data.train(), trainPool, o.teacherScenes(), o.spec(), 4);
        if (!Files.isDirectory(root)) {
            long t = System.nanoTime();
            Path tmp = partial(root);
            Scenes.write(data.train(), train, o.spec(), tmp.resolve("train"), tmp.resolve("train.scenes.json"),
                    tmp.resolve("train.real.json"));
            List<Scenes.Scene> val = Scenes.layout(data.train(), valPool, o.valScenes(), o.spec(), 2);
            Scenes.write(data.train(), val, o.spec(), tmp.resolve("val"), tmp.resolve("val.scenes.json"),
                    tmp.resolve("val.real.json"));
            List<Scenes.Scene> test = Scenes.layout(data.test(), testPool, o.testScenes(), o.spec(), 3);
            Scenes.write(data.test(), test, o.spec(), tmp.resolve("test"), tmp.resolve("test.scenes.json"),
                    tmp.resolve("test.real.json"));
            // the teacher's own scenes: other scenes of the same training items, seen with their item masks
            Scenes.write(data.train(), teacher, o.spec(), tmp.resolve("teacher-train"),
                    tmp.resolve("teacher-train.scenes.json"), tmp.resolve("teacher-train.real.json"));
            Files.write(tmp.resolve("class-names.txt"), (String.join("\n", FashionMnist.CLASSES) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            commit(tmp, root);
            log.accept(String.format(Locale.ROOT, "scenes: wrote %d train, %d val, %d test and %d teacher scenes "
                    + "to %s in %.1f s", o.trainScenes(), o.valScenes(), o.testScenes(), o.teacherScenes(), root,
                    (System.nanoTime() - t) / 1e9));
        } else {
            log.accept("scenes: cached in " + root);
        }
        return new SceneSet(root, root.resolve("train"), root.resolve("val"), root.resolve("test"),
                root.resolve("teacher-train"), root.resolve("test.real.json"), root.resolve("val.real.json"),
                root.resolve("class-names.txt"), train, teacher);
    }

    // ---------------------------------------------------------------- teacher

    private Path teacher(SceneSet s, Path teacherOracle) throws IOException {
        List<String> cfg = List.of("model.arch=small-cnn", "model.width=" + o.teacherWidth(),
                "data.train=" + s.teacherTrain(), "data.val=" + s.val(), "data.image_size=" + o.teacherSize(),
                "data.rrc_minimum=" + o.rrcMinimum(), "data.crop_ratio=1.0", "data.relabel.use=true",
                "data.relabel.path=" + teacherOracle, "optim.epochs=" + o.teacherEpochs(),
                "optim.batch_size=" + o.batchSize(), "optim.lr.init=" + o.lr(), "compute.seed=0");
        Path dir = o.cache().resolve("teacher-" + hash("teacher-v2", s.root().getFileName(), teacherOracle.getFileName(), cfg));
        if (Files.isRegularFile(dir.resolve("model.pth"))) {
            log.accept(String.format(Locale.ROOT, "teacher: cached in %s (val top-1 %.2f)", dir, summaryValTop1(dir)));
            return dir;
        }
        Path tmp = partial(dir);
        log.accept("teacher: training a width-" + o.teacherWidth() + " CNN at " + o.teacherSize() + " px on "
                + o.teacherScenes() + " other training scenes with their oracle maps, " + o.teacherEpochs() + " epochs");
        Trainer.Result r = train(cfg, tmp, "teacher");
        commit(tmp, dir);
        log.accept(String.format(Locale.ROOT, "teacher: val top-1 %.2f in %.0f s", r.valTop1(), r.seconds()));
        return dir;
    }

    private Path annotate(SceneSet s, Path teacherRun) throws IOException {
        Path out = o.cache().resolve("teacher-maps-" + hash("annotate-v1", teacherRun.getFileName(), s.root().getFileName(),
                o.annotateSize()) + ".rlm");
        if (Files.isRegularFile(out)) {
            log.accept("teacher maps: cached in " + out);
            return out;
        }
        if (LabelMapStoreWriter.unfinished(out)) LabelMapStoreWriter.discard(out);
        try (Classifier teacher = Models.load("small-cnn", teacherRun.resolve("model.pth"), FashionMnist.CLASSES.size())) {
            Annotator a = Annotator.builder(teacher).teacherName("demo teacher " + teacherRun.getFileName())
                    .size(o.annotateSize()).k(5).batchSize(o.batchSize()).workers(Math.max(2, o.workers())).device(o.device())
                    .scoreType(DType.FLOAT16).log(m -> log.accept("annotate: " + m)).build();
            Annotator.Summary sum = a.run(ImageFolder.open(s.train()), out);
            log.accept(String.format(Locale.ROOT, "teacher maps: %d maps %s in %.1f s (teacher forward %.1f s, "
                    + "waiting for decoded images %.1f s) -> %s", sum.written(), sum.format(), sum.seconds(),
                    sum.forwardSeconds(), sum.waitSeconds(), out));
        }
        return out;
    }

    /** Oracle maps of {@code scenes} (made from the train split) into the store {@code name-<hash>.rlm}. */
    private Path oracle(FashionMnist.Data data, SceneSet s, List<Scenes.Scene> train, String name) throws IOException {
        Path out = o.cache().resolve(name + "-" + hash("oracle-v2", s.root().getFileName(), name, o.oracleGrid(),
                o.oracleScale()) + ".rlm");
        String what = name.replace('-', ' ');
        if (Files.isRegularFile(out)) {
            log.accept(what + ": cached in " + out);
            return out;
        }
        int classes = FashionMnist.CLASSES.size(), g = o.oracleGrid(), k = 5;
        MapFormat format = new MapFormat(classes, k, g, g, DType.FLOAT16, MapFormat.indexTypeFor(classes));
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("oracle", "visible ink fraction per cell and class x " + o.oracleScale());
        meta.put("scenes", s.root().getFileName().toString());
        if (LabelMapStoreWriter.unfinished(out)) LabelMapStoreWriter.discard(out);
        long t = System.nanoTime();
        TopK topK = TopK.of(k, DType.FLOAT32, DType.INT32, 2);  // the annotator's op: torch.topk per cell
        int cells = g * g, chunk = 512;
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, format, meta)) {
            for (int from = 0; from < train.size(); from += chunk) {
                int n = Math.min(train.size(), from + chunk) - from;
                float[] dense = new float[n * classes * cells];  // [n, C, g, g]
                final int f0 = from;
                IntStream.range(0, n).parallel().forEach(i -> {
                    Scenes.Scene scene = train.get(f0 + i);
                    float[] map = Scenes.inkMap(Scenes.render(data.train(), scene, o.spec().canvas()), scene, classes,
                            g, (float) o.oracleScale());
                    System.arraycopy(map, 0, dense, i * classes * cells, classes * cells);
                });
                TopK.Result top = topK.apply(NdArray.of(dense, n, classes, g, g));
                float[] scores = top.scores().toFloatArray();
                long[] ids = top.indices().toLongArray();
                int per = k * cells;
                for (int i = 0; i < n; ++i) {
                    int[] id = new int[per];
                    for (int j = 0; j < per; ++j) id[j] = (int) ids[i * per + j];
                    w.append(train.get(from + i).key(), Arrays.copyOfRange(scores, i * per, (i + 1) * per), id);
                }
            }
            w.finish();
        }
        log.accept(String.format(Locale.ROOT, "%s: %d maps %s in %.1f s -> %s", what, train.size(), format,
                (System.nanoTime() - t) / 1e9, out));
        return out;
    }

    // ---------------------------------------------------------------- students

    /**
     * Trains one student. A candidate whose training diverges (the loss became NaN or infinite: a learning rate too
     * high) is a result, val top-1 NaN, never chosen; a chosen setting diverging on another seed is an error.
     */
    private StudentRun student(SceneSet s, String method, int seed, Path maps, Setting setting, boolean candidate)
            throws IOException {
        List<String> cfg = new ArrayList<>(List.of("model.arch=small-cnn", "model.width=" + o.studentWidth(),
                "data.train=" + s.train(), "data.val=" + s.val(), "data.image_size=" + o.studentSize(),
                "data.rrc_minimum=" + o.rrcMinimum(), "data.crop_ratio=1.0", "optim.epochs=" + o.epochs(),
                "optim.batch_size=" + o.batchSize(), "optim.lr.init=" + setting.lr(), "compute.seed=" + seed,
                "optim.label_smoothing=" + setting.smoothing()));
        String name = switch (method) {
            case ONE_HOT -> "one-hot";
            case SMOOTHING -> "smoothing";
            case RELABEL_TEACHER -> "relabel-teacher";
            default -> "relabel-oracle";
        };
        Candidate c = setting.pooling();
        if (maps != null)
            cfg.addAll(List.of("data.relabel.use=true", "data.relabel.path=" + maps, "data.relabel.mode=" + c.mode(),
                    "data.relabel.temperature=" + c.temperature(), "data.relabel.gt_mix=" + c.gtMix()));
        name += "-" + setting.slug();
        Path dir = o.out().resolve("students").resolve(name + "-seed" + seed);
        log.accept("student: " + method + " (" + setting.describe() + "), seed " + seed);
        Trainer.Result r;
        try {
            r = train(cfg, dir, name);
        } catch (IllegalStateException e) {
            if (!candidate || e.getMessage() == null || !e.getMessage().startsWith("the loss became")) throw e;
            log.accept(name + ": diverged (" + e.getMessage() + "): not a candidate");
            return new StudentRun(method, seed, setting, Double.NaN, Double.NaN, Double.NaN, Double.NaN, dir);
        }
        return new StudentRun(method, seed, setting, r.valTop1() == null ? Double.NaN : r.valTop1(), Double.NaN,
                Double.NaN, r.seconds(), dir);
    }

    private Trainer.Result train(List<String> overrides, Path dir, String what) throws IOException {
        List<String> all = new ArrayList<>(List.of("data.jitter=0", "data.lighting=0", "optim.warmup.epochs=0",
                "optim.wd.base=5e-4", "util.checkpoint_every=0", "util.print_freq=1000000",
                "compute.num_workers=" + o.workers(), "compute.threads=" + o.threads(), "compute.device=" + o.device(),
                "util.out=" + dir));
        all.addAll(overrides);
        TrainConfig config = TrainConfig.load("tiny", null, all);
        if (Files.exists(dir)) deleteTree(dir);
        TrainListener listener = new TrainListener() {
            @Override
            public void log(String line) {
                if (line.startsWith("epoch") || line.contains("val")) log.accept(what + ": " + line.strip());
            }
        };
        return new Trainer(config, listener, null).run(null);
    }

    private double[] evaluate(Dataset test, RealLabels real, Path model, int size) throws IOException {
        try (Classifier c = Models.load("small-cnn", model, FashionMnist.CLASSES.size())) {
            Evaluator e = Evaluator.builder().size(size).cropPct(1.0).batchSize(256).workers(o.workers())
                    .device(o.device()).build();
            Evaluator.Run run = e.run(c, test);
            Metrics.Accuracy acc = Metrics.accuracy(run.predictions());
            RealLabels.Result multi = real.evaluate(run.predictions());
            return new double[] {100 * acc.top1(), 100 * multi.top1()};
        }
    }

    static double summaryValTop1(Path run) throws IOException {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.resolve("summary.json").toFile());
        return node.path("val_top1").asDouble(Double.NaN);
    }

    // ---------------------------------------------------------------- helpers

    static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static String hash(Object... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Arrays.deepToString(parts).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path partial(Path dir) throws IOException {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".partial");
        if (Files.exists(tmp)) deleteTree(tmp);
        Files.createDirectories(tmp);
        return tmp;
    }

    private static void commit(Path tmp, Path dir) throws IOException {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** Builds a {@link Demo}; every setter validates its value and names the option. */
    public static final class Builder {
        private Path fashionMnist = FashionMnist.DEBIAN_DIR, out = Path.of("runs/demo"), cache;
        private SceneSpec spec = SceneSpec.defaults();
        private int trainScenes = 6000, valScenes = 1000, testScenes = 2000, teacherScenes = 6000, teacherEpochs = 8,
                teacherWidth = 24, teacherSize = 32, annotateSize = 48, epochs = 6, studentWidth = 16, studentSize = 24,
                batchSize = 64, oracleGrid = 12, workers = 1, threads = 0;
        private String device = "cpu";
        private double lr = 0.05, rrcMinimum = 0.08, oracleScale = 30;
        // every method tunes the learning rate over the same values (ReLabel at T=0.3, smoothing at epsilon 0.1); at
        // 0.05/0.1/0.2 every method chose 0.2, the grid's edge, so the grid is one octave higher
        private List<Candidate> candidates = List.of(new Candidate("logits", 0.3, 0, 0.1),
                new Candidate("logits", 0.3, 0, 0.2), new Candidate("logits", 0.3, 0, 0.4));
        private List<Setting> oneHot = List.of(Setting.oneHot(0.1), Setting.oneHot(0.2), Setting.oneHot(0.4));
        private List<Setting> smoothing = List.of(Setting.smoothing(0.1, 0.1), Setting.smoothing(0.1, 0.2),
                Setting.smoothing(0.1, 0.4));
        private List<Integer> seeds = List.of(0);
        private Consumer<String> log = m -> {};

        public Builder fashionMnist(Path dir) {
            this.fashionMnist = Objects.requireNonNull(dir);
            return this;
        }

        public Builder out(Path dir) {
            this.out = Objects.requireNonNull(dir);
            return this;
        }

        /** Where scenes, the teacher and the stores are cached (default {@code <out>/cache}). */
        public Builder cache(Path dir) {
            this.cache = dir;
            return this;
        }

        public Builder spec(SceneSpec s) {
            this.spec = Objects.requireNonNull(s);
            return this;
        }

        public Builder scenes(int train, int val, int test) {
            positive("--train-scenes", train);
            positive("--val-scenes", val);
            positive("--test-scenes", test);
            trainScenes = train;
            valScenes = val;
            testScenes = test;
            return this;
        }

        public Builder teacher(int scenes, int epochs, int width, int size) {
            positive("--teacher-scenes", scenes);
            positive("--teacher-epochs", epochs);
            positive("--teacher-width", width);
            positive("--teacher-size", size);
            teacherScenes = scenes;
            teacherEpochs = epochs;
            teacherWidth = width;
            teacherSize = size;
            return this;
        }

        public Builder annotateSize(int s) {
            positive("--annotate-size", s);
            annotateSize = s;
            return this;
        }

        public Builder students(int epochs, int width, int size) {
            positive("--epochs", epochs);
            positive("--width", width);
            positive("--size", size);
            this.epochs = epochs;
            studentWidth = width;
            studentSize = size;
            return this;
        }

        public Builder batchSize(int n) {
            positive("--batch-size", n);
            batchSize = n;
            return this;
        }

        public Builder lr(double v) {
            if (!(v > 0)) throw new IllegalArgumentException("--lr must be > 0, got " + v);
            lr = v;
            return this;
        }

        public Builder rrcMinimum(double v) {
            if (!(v > 0 && v <= 1)) throw new IllegalArgumentException("--rrc-minimum must be in (0, 1], got " + v);
            rrcMinimum = v;
            return this;
        }

        /** The one-hot students' learning rates, chosen among on validation scenes. */
        public Builder oneHot(List<Double> lrs) {
            if (lrs.isEmpty()) throw new IllegalArgumentException("--lr-candidates: give at least one learning rate");
            List<Setting> s = new ArrayList<>();
            for (double v : lrs) {
                if (!(v > 0)) throw new IllegalArgumentException("--lr-candidates must be > 0, got " + trim(v));
                s.add(Setting.oneHot(v));
            }
            oneHot = List.copyOf(s);
            return this;
        }

        /** The label-smoothing students' (epsilon, learning rate) settings, chosen among on validation scenes. */
        public Builder smoothing(List<Setting> settings) {
            if (settings.isEmpty()) throw new IllegalArgumentException("--smoothing-candidates: give at least one EPS[:LR]");
            for (Setting t : settings)
                if (t.smoothing() <= 0 || t.pooling() != null)
                    throw new IllegalArgumentException("--smoothing-candidates: " + t.describe() + " is not a label smoothing setting");
            smoothing = List.copyOf(settings);
            return this;
        }

        public Builder oracle(int grid, double scale) {
            positive("--oracle-grid", grid);
            if (!(scale > 0)) throw new IllegalArgumentException("--oracle-scale must be > 0, got " + scale);
            oracleGrid = grid;
            oracleScale = scale;
            return this;
        }

        public Builder candidates(List<Candidate> c) {
            if (c.isEmpty()) throw new IllegalArgumentException("--candidates: give at least one mode:T");
            candidates = List.copyOf(c);
            return this;
        }

        public Builder seeds(List<Integer> s) {
            if (s.isEmpty()) throw new IllegalArgumentException("--seeds: give at least one seed");
            if (s.stream().distinct().count() != s.size()) throw new IllegalArgumentException("--seeds repeat: " + s);
            seeds = List.copyOf(s);
            return this;
        }

        public Builder workers(int n) {
            positive("--workers", n);
            workers = n;
            return this;
        }

        /** LibTorch intra-op threads (0: LibTorch's default). */
        public Builder threads(int n) {
            if (n < 0) throw new IllegalArgumentException("--threads must be >= 0, got " + n);
            threads = n;
            return this;
        }

        /** Where the teacher, annotation, students and evaluation run: cpu, cuda or cuda:N (checked at run). */
        public Builder device(String d) {
            try {
                device = Devices.name(Devices.parse(d));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--" + e.getMessage(), e);
            }
            return this;
        }

        public Builder log(Consumer<String> sink) {
            log = Objects.requireNonNull(sink);
            return this;
        }

        public Demo build() {
            if (oracleGrid > spec.canvas())
                throw new IllegalArgumentException("--oracle-grid " + oracleGrid + " exceeds the canvas (" + spec.canvas() + " px)");
            if (oneHot.size() != candidates.size() || smoothing.size() != candidates.size())
                throw new IllegalArgumentException("every method gets the same validation budget: --candidates gives each "
                        + "ReLabel student " + candidates.size() + " setting(s), --lr-candidates one-hot " + oneHot.size()
                        + ", --smoothing-candidates label smoothing " + smoothing.size() + "; give them the same number");
            Path c = cache != null ? cache : out.resolve("cache");
            return new Demo(new Options(fashionMnist, out, c, spec, trainScenes, valScenes, testScenes, teacherScenes,
                    teacherEpochs, teacherWidth, teacherSize, annotateSize, epochs, studentWidth, studentSize, batchSize,
                    lr, rrcMinimum, oneHot, smoothing, oracleGrid, oracleScale, candidates, seeds, workers, threads, device),
                    log);
        }

        private static void positive(String option, int v) {
            if (v <= 0) throw new IllegalArgumentException(option + " must be >= 1, got " + v);
        }
    }
}
