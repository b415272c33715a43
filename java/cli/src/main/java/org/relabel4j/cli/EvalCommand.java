package org.relabel4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.eval.EvalReport;
import org.relabel4j.eval.Evaluator;
import org.relabel4j.eval.ModelLoader;
import org.relabel4j.eval.MultiLabelEvaluator;
import org.relabel4j.eval.MultiLabelReport;
import org.relabel4j.data.MultiLabelDataset;
import org.relabel4j.eval.Predictions;
import org.relabel4j.eval.RealLabels;
import org.relabel4j.eval.ShankarLabels;
import org.relabel4j.torch.Devices;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel eval}: top-1/top-5, per-class, ReaL and multi-label accuracy of a model, as JSON and a table. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluates a classifier on a dataset: top-1/top-5 and per-class accuracy, with --real the ReaL "
                + "accuracy (Beyer et al. 2020), with --shankar the multi-label accuracy (Shankar et al. 2020).",
                "Prints a table; --out writes every metric (per-class included) as JSON. Exits 2 on bad input."})
final class EvalCommand implements Callable<Integer> {
    /** How --model/--checkpoint become a classifier (org.relabel4j.model; tests put their own here). */
    static volatile ModelLoader models = Models::load;

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "SPEC", description = DataCommand.DATA_HELP)
    String data;

    @Option(names = "--model", required = true, paramLabel = "ARCH|file.pt",
            description = "architecture (e.g. resnet50) or a TorchScript file")
    String model;

    @Option(names = "--checkpoint", paramLabel = "ckpt.pt", description = "state dict to load into the architecture")
    Path checkpoint;

    @Option(names = "--classes", defaultValue = "0", paramLabel = "N",
            description = "model classes (default: the dataset's class count)")
    int classes;

    @Option(names = "--class-names", paramLabel = "FILE",
            description = "class names, one per line, index = line (e.g. ImageNet's sorted WordNet ids for an "
                    + "ImageNetV2 dataset, whose folders are numbers; needed by --shankar there)")
    Path classNames;

    @Option(names = "--real", paramLabel = "real.json", description = "ReaL labels (google-research/reassessed-imagenet)")
    Path real;

    @Option(names = "--shankar", paramLabel = "FILE",
            description = "multi-label annotations: human_accuracy.pickle, human_accuracy_v3.0.0.json, or "
                    + "{\"<image>\": {\"correct\": [...], \"unclear\": [...]}} JSON")
    Path shankar;

    @Option(names = "--batch", defaultValue = "100", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--workers", defaultValue = "0", description = "loader threads (0: all processors)")
    int workers;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--size", defaultValue = "224", description = "center-crop size (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--resize", defaultValue = "0",
            description = "shorter side before the crop (default: floor(size / crop-pct), 256 for 224)")
    int resize;

    @Option(names = "--crop-pct", defaultValue = "0.875", description = "crop fraction (default: ${DEFAULT-VALUE})")
    double cropPct;

    @Option(names = "--strict", description = "fail on an unreadable image (default: skip it, count it, list it)")
    boolean strict;

    @Option(names = "--out", paramLabel = "report.json", description = "write the JSON report here")
    Path out;

    @Option(names = "--task", defaultValue = "single", paramLabel = "single|multilabel",
            description = "single: top-1/top-5 (default); multilabel: mAP, CP/CR/CF1, OP/OR/OF1 at --threshold and at "
                    + "top-3, of the sigmoid of the logits, on a multi-label dataset (multilist:, coco:)")
    String task;

    @Option(names = "--threshold", defaultValue = "0.5", description = "multilabel: the probability a class is "
            + "predicted at (default: ${DEFAULT-VALUE})")
    double threshold;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        int cpu = ComputeOptions.parseDevice(device);  // validates the syntax; the evaluator checks availability
        Evaluator.Builder eb = Evaluator.builder().size(size).cropPct(cropPct).batchSize(batch)
                .device(Devices.name(cpu)).strict(strict).log(m -> {
                    stderr.println("eval: " + m);
                    stderr.flush();
                });
        if (resize > 0) eb.resize(resize);
        if (workers > 0) eb.workers(workers);
        if (workers < 0) throw new IllegalArgumentException("--workers must be >= 0, got " + workers);
        if (classes < 0) throw new IllegalArgumentException("--classes must be >= 1, got " + classes);
        FileArgs.of().inSpec("--data", data).inModel("--model", model).in("--checkpoint", checkpoint)
                .in("--class-names", classNames).in("--real", real).in("--shankar", shankar).out("--out", out).check();

        if (!task.equals("single") && !task.equals("multilabel"))
            throw new IllegalArgumentException("--task must be single or multilabel, got " + task);
        if (!(threshold > 0 && threshold < 1))
            throw new IllegalArgumentException("--threshold must be in (0, 1), got " + threshold);
        Dataset dataset = Datasets.open(data, classNames == null ? null : readNames(classNames));
        if (task.equals("multilabel")) return multiLabel(eb, dataset, stdout, stderr);
        int modelClasses = classes > 0 ? classes : dataset.classes().size();
        // Label files are read and matched to the dataset before the model runs: a mismatch fails in seconds.
        RealLabels realLabels = real == null ? null : RealLabels.load(real);
        if (realLabels != null) realLabels.align(Predictions.builder(dataset, 1).build());
        ShankarLabels shankarLabels = shankar == null ? null : ShankarLabels.load(shankar);
        if (shankarLabels != null) shankarLabels.evaluate(Predictions.builder(dataset, 1).build(), dataset.classes());

        Evaluator evaluator;
        Evaluator.Run run;
        try (Classifier classifier = models.load(model, checkpoint, modelClasses);
             Progress progress = Progress.start("eval", dataset.size(), "images", stderr)) {
            evaluator = eb.progress(done -> progress.stepTo(done)).build();
            run = evaluator.run(classifier, dataset);
        }
        EvalReport report = new EvalReport(run, dataset)
                .inputs(data, model, checkpoint == null ? null : checkpoint.toString()).settings(evaluator);
        if (realLabels != null) report.real(realLabels.evaluate(run.predictions()), real.toString());
        if (shankarLabels != null)
            report.shankar(shankarLabels.evaluate(run.predictions(), dataset.classes()), shankarLabels.layout(),
                    shankar.toString());
        stdout.print(report.table());
        if (out != null) {
            report.write(out);
            stdout.println("report:   " + out);
        }
        stdout.flush();
        return 0;
    }

    /** --task multilabel: the sigmoid scores of every image, mAP and the F1s. */
    private int multiLabel(Evaluator.Builder eb, Dataset dataset, PrintWriter stdout, PrintWriter stderr)
            throws IOException {
        if (!(dataset instanceof MultiLabelDataset ml))
            throw new IllegalArgumentException("--task multilabel needs a multi-label dataset (multilist:FILE or "
                    + "coco:IMAGES_DIR:INSTANCES.json), got " + dataset.description());
        if (real != null || shankar != null)
            throw new IllegalArgumentException("--real and --shankar are ImageNet labels: not with --task multilabel");
        int modelClasses = classes > 0 ? classes : dataset.classes().size();
        MultiLabelEvaluator.Scores scores;
        try (Classifier classifier = models.load(model, checkpoint, modelClasses)) {
            scores = new MultiLabelEvaluator(eb.build()).run(classifier, ml, null);
        }
        if (scores.scores().length == 0) throw new IllegalArgumentException(data + ": no image could be evaluated");
        MultiLabelReport report = new MultiLabelReport(scores, threshold, dataset.classes(), dataset.size())
                .inputs(data, model, checkpoint == null ? null : checkpoint.toString());
        stdout.print(report.table());
        if (out != null) {
            report.write(out);
            stdout.println("report:   " + out);
        }
        stdout.flush();
        return 0;
    }

    /** One class name per line (index = line number - 1); trailing empty lines are ignored, others are errors. */
    static List<String> readNames(Path file) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) lines.remove(lines.size() - 1);
        List<String> names = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); ++i) {
            String name = lines.get(i).strip();
            if (name.isEmpty()) throw new IOException(file + ": line " + (i + 1) + " is empty (one class name per line)");
            names.add(name);
        }
        if (names.isEmpty()) throw new IOException(file + ": no class names");
        return names;
    }
}
