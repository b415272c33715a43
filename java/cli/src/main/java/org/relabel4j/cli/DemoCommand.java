package org.relabel4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.relabel4j.demo.Demo;
import org.relabel4j.demo.MultiLabelDemo;
import org.relabel4j.demo.SceneSpec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel demo}: ReLabel end to end on Fashion-MNIST scenes (see docs/demo.md). */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"ReLabel end to end on real images: builds multi-object scenes from Fashion-MNIST, writes "
                + "oracle maps from the items' ink, trains a teacher on other scenes with their item masks and "
                + "annotates the training scenes with it, trains students (one-hot, label smoothing, ReLabel with teacher maps, ReLabel with "
                + "oracle maps; each method chooses its setting on validation scenes among as many as every other: "
                + "learning rate, smoothing epsilon, pooling), evaluates them once on test scenes (top-1 and "
                + "multi-label) and writes OUT/report.md (with the verdict and its rule), report.json, curves.png and "
                + "label-map figures.",
                "Default: about 9 minutes on 2 idle CPU cores the first time, 6 after: scenes, teacher and stores are "
                        + "cached (OUT/cache) for the next run. --full: 3 seeds per method, mean ± std. See docs/demo.md."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--fashion-mnist", paramLabel = "DIR",
            description = "the four Fashion-MNIST IDX .gz files (default: /usr/share/datasets/fashion-mnist, from "
                    + "Debian's dataset-fashion-mnist)")
    Path fashionMnist;

    @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR",
            description = "report and student runs (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--cache", paramLabel = "DIR", description = "scenes, teacher and stores (default: OUT/cache)")
    Path cache;

    static final class Preset {
        @Option(names = "--full", description = "3 seeds per method (mean ± std) and 6 settings per method: 32 student runs")
        boolean full;

        @Option(names = "--smoke", description = "a tiny run (about a minute): checks the pipeline, not the method")
        boolean smoke;
    }

    @ArgGroup(exclusive = true)
    Preset preset;

    @Option(names = "--seeds", split = ",", paramLabel = "S,S,...", description = "student seeds (default 0; --full: 0,1,2)")
    List<Integer> seeds;

    @Option(names = "--train-scenes", paramLabel = "N", description = "students' training scenes (default 6000)")
    Integer trainScenes;
    @Option(names = "--val-scenes", paramLabel = "N", description = "validation scenes (default 1000)") Integer valScenes;
    @Option(names = "--test-scenes", paramLabel = "N", description = "test scenes (default 2000)") Integer testScenes;

    @Option(names = "--canvas", paramLabel = "PX", description = "scene side in pixels (default 48)") Integer canvas;

    @Option(names = "--items", paramLabel = "A-B", description = "items per scene (default 2-4)") String items;

    @Option(names = "--scale", paramLabel = "A-B", description = "item side / canvas side (default 0.25-0.625)") String scale;

    @Option(names = "--max-overlap", paramLabel = "F", description = "largest share of an item's box another item may "
            + "cover (default 0.5)") Double maxOverlap;

    @Option(names = "--dominance", paramLabel = "R", description = "the largest item (the label) shows at least R x the "
            + "ink of the second (default 1: just more)") Double dominance;

    @Option(names = "--epochs", paramLabel = "N", description = "student epochs (default 6)") Integer epochs;
    @Option(names = "--size", paramLabel = "PX", description = "student input side (default 24)") Integer size;
    @Option(names = "--width", paramLabel = "C", description = "student CNN width (default 16)") Integer width;
    @Option(names = "--rrc-minimum", paramLabel = "F", description = "RandomResizedCrop smallest area (default 0.08)")
    Double rrcMinimum;
    @Option(names = "--lr", paramLabel = "LR", description = "SGD learning rate of the teacher, and of the ReLabel "
            + "candidates and smoothing candidates that give none (default 0.05)")
    Double lr;

    @Option(names = "--lr-candidates", split = ",", paramLabel = "LR,...", description = "one-hot students' learning "
            + "rates, chosen on validation scenes (default 0.1,0.2,0.4; --full: 0.05,0.1,0.15,0.2,0.3,0.4)")
    List<Double> lrCandidates;

    @Option(names = "--smoothing-candidates", split = ",", paramLabel = "EPS[:LR],...", description = "label smoothing "
            + "students' epsilon and learning rate (LR default: --lr), chosen on validation scenes (default "
            + "0.1:0.1,0.1:0.2,0.1:0.4; --full: epsilon 0.1 and 0.2, each at lr 0.1, 0.2, 0.4)")
    List<String> smoothingCandidates;

    @Option(names = "--teacher-scenes", paramLabel = "N", description = "the teacher's own training scenes (default 6000)")
    Integer teacherScenes;
    @Option(names = "--teacher-epochs", paramLabel = "N", description = "(default 8)") Integer teacherEpochs;
    @Option(names = "--teacher-width", paramLabel = "C", description = "(default 24)") Integer teacherWidth;
    @Option(names = "--teacher-size", paramLabel = "PX", description = "teacher training input side (default 32)")
    Integer teacherSize;
    @Option(names = "--annotate-size", paramLabel = "PX", description = "annotate input side; the map is 1/8 of it (default 48)")
    Integer annotateSize;

    @Option(names = "--oracle-grid", paramLabel = "G", description = "oracle map side (default 12)") Integer oracleGrid;
    @Option(names = "--oracle-scale", paramLabel = "S", description = "oracle logit of a fully inked cell (default 30)")
    Double oracleScale;

    @Option(names = "--candidates", split = ",", paramLabel = "MODE:T[:MIX[:LR]]",
            description = "ReLabel students' settings tried on validation scenes (mode logits|probs, temperature, gt-mix, "
                    + "learning rate, default --lr; default logits:0.3:0:0.1,logits:0.3:0:0.2,logits:0.3:0:0.4; "
                    + "--full: T 0.3 and 0.5, each at lr 0.1, 0.2, 0.4). Every method gets as many settings: give "
                    + "--lr-candidates and --smoothing-candidates as many entries")
    List<String> candidates;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda[:N]",
            description = "where teacher, annotation, students and evaluation run (default: ${DEFAULT-VALUE}; CUDA "
                    + "needs the -Pgpu build)")
    String device;

    @Option(names = "--workers", defaultValue = "1", description = "loader threads (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--threads", defaultValue = "0", description = "LibTorch threads (0: its default)")
    int threads;

    @Option(names = "--task", defaultValue = "single", paramLabel = "single|multilabel",
            description = "multilabel: every item is a label; multi-hot BCE vs ReLabel (teacher maps) vs ReLabel "
                    + "(oracle maps), the same number of validation candidates each: the ReLabel methods' learning rates "
                    + "(--lr-candidates; the preset's one-hot rates x 10 by default: BCE averages over the classes) x "
                    + "soft or binarized targets, multi-hot a twice finer rate grid; chosen on validation mAP, test mAP; "
                    + "report-multilabel.md, figure-multilabel.png (docs/multilabel.md)")
    String task;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        String name = preset == null ? "default" : preset.full ? "full" : preset.smoke ? "smoke" : "default";
        Demo.Builder b = Demo.preset(name).out(out).cache(cache).workers(workers).threads(threads).device(device).log(m -> {
            stderr.println("demo: " + m);
            stderr.flush();
        });
        if (fashionMnist != null) b.fashionMnist(fashionMnist);
        if (seeds != null) b.seeds(seeds);
        Demo.Options d = b.build().options();
        SceneSpec s = d.spec();
        double[] it = items == null ? new double[] {s.minItems(), s.maxItems()} : rangeInts("--items", items);
        double[] sc = scale == null ? new double[] {s.minScale(), s.maxScale()} : SceneSpec.range("--scale", scale);
        b.spec(new SceneSpec(canvas != null ? canvas : s.canvas(), (int) it[0], (int) it[1], sc[0], sc[1],
                maxOverlap != null ? maxOverlap : s.maxOverlap(), dominance != null ? dominance : s.dominance()));
        b.scenes(or(trainScenes, d.trainScenes()), or(valScenes, d.valScenes()), or(testScenes, d.testScenes()));
        b.students(or(epochs, d.epochs()), or(width, d.studentWidth()), or(size, d.studentSize()));
        b.teacher(or(teacherScenes, d.teacherScenes()), or(teacherEpochs, d.teacherEpochs()),
                or(teacherWidth, d.teacherWidth()), or(teacherSize, d.teacherSize()));
        if (annotateSize != null) b.annotateSize(annotateSize);
        if (rrcMinimum != null) b.rrcMinimum(rrcMinimum);
        if (lr != null) b.lr(lr);
        if (lrCandidates != null && !task.equals("multilabel")) b.oneHot(lrCandidates);  // multilabel: its own rates
        if (smoothingCandidates != null) {
            List<Demo.Setting> ss = new ArrayList<>();
            for (String c : smoothingCandidates) ss.add(Demo.Setting.parseSmoothing(c, lr != null ? lr : d.lr()));
            b.smoothing(ss);
        }
        b.oracle(or(oracleGrid, d.oracleGrid()), oracleScale != null ? oracleScale : d.oracleScale());
        if (candidates != null) {
            List<Demo.Candidate> cs = new ArrayList<>();
            for (String c : candidates) cs.add(Demo.Candidate.parse(c));
            b.candidates(cs);
        }
        if (task.equals("multilabel")) {
            Demo.Options opts = b.build().options();
            // BCE's mean over the 10 classes scales the gradient per logit by 1/10 against cross-entropy: rates x 10
            List<Double> lrs = lrCandidates != null ? lrCandidates
                    : opts.oneHot().stream().map(x -> x.lr() * 10).toList();
            MultiLabelDemo.Result m = new MultiLabelDemo(opts, lrs, msg -> {
                stderr.println("demo: " + msg);
                stderr.flush();
            }).run();
            stdout.println();
            stdout.print(m.table());
            stdout.println();
            for (String v : m.verdict()) stdout.println(v);
            stdout.printf(Locale.ROOT, "%nreport:  %s%ntime:    %.0f s%n", m.report(), m.seconds());
            stdout.flush();
            return 0;
        }
        if (!task.equals("single")) throw new IllegalArgumentException("--task must be single or multilabel, got " + task);
        Demo.Result r = b.build().run();
        stdout.println();
        stdout.print(r.table());
        stdout.println();
        for (String v : r.verdict()) stdout.println(v);
        stdout.printf(Locale.ROOT, "%nreport:  %s%ncurves:  %s%nfigures: %s%ntime:    %.0f s%n", r.report(), r.curves(),
                r.figures(), r.seconds());
        stdout.flush();
        return 0;
    }

    private static int or(Integer v, int d) {
        return v != null ? v : d;
    }

    private static double[] rangeInts(String option, String text) {
        double[] r = SceneSpec.range(option, text);
        for (double v : r)
            if (v != Math.rint(v)) throw new IllegalArgumentException(option + " must be whole numbers A-B, got '" + text + "'");
        return r;
    }

}
