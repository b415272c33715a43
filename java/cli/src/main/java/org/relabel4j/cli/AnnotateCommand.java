package org.relabel4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.relabel4j.annotate.Annotator;
import org.relabel4j.annotate.OracleMaps;
import org.relabel4j.data.CocoDataset;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.eval.ModelLoader;
import org.relabel4j.nd.DType;
import org.relabel4j.store.Shard;
import org.relabel4j.torch.Devices;
import org.relabel4j.model.Classifier;
import org.relabel4j.model.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel annotate}: a dataset's label maps from a teacher, into a label-map store. */
@Command(name = "annotate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes the label maps of a dataset with a teacher (ReLabel's label-map generator): each image "
                + "resized whole to SxS, the teacher run fully convolutionally (its classifier as a 1x1 convolution), "
                + "the top-k classes per location kept (fp16) on the teacher's device and streamed into a store keyed "
                + "as the training loader looks them up.",
                "A killed run continues where it stopped when run again with the same arguments. --shard i/N writes "
                        + "OUT.rlm.shard-<i>-of-<N>; join the parts with `relabel store merge`. Unreadable images are "
                        + "listed and the run exits 2 (the store holds the others). See docs/annotate.md."})
final class AnnotateCommand implements Callable<Integer> {
    /** How --model/--checkpoint become the teacher (tests put their own here). */
    static volatile ModelLoader models = Models::load;

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "SPEC", description = DataCommand.DATA_HELP + " (required unless --oracle)")
    String data;

    @Option(names = "--oracle", paramLabel = "coco:IMAGES_DIR:INSTANCES.json",
            description = "oracle maps instead of a teacher's: per cell and class the covered fraction of the COCO "
                    + "instance masks (polygons, RLE; boxes without a mask), --map-size cells a side, top --k classes "
                    + "per cell (train them with train.task=multilabel data.relabel.multilabel_target=value; "
                    + "docs/multilabel.md)")
    String oracle;

    @Option(names = "--sigmoid", description = "store the teacher's per-cell sigmoid probabilities instead of its logits "
            + "(a multi-label teacher; train with data.relabel.multilabel_target=value: pooled per-cell probabilities)")
    boolean sigmoid;

    @Option(names = "--map-size", defaultValue = "14", paramLabel = "N",
            description = "--oracle: cells per side of the map grid (default: ${DEFAULT-VALUE})")
    int mapSize;

    @Option(names = "--model", paramLabel = "ARCH|file.pt",
            description = "the teacher: a built-in architecture (resnet18..152, small_cnn) with --checkpoint, or a "
                    + "TorchScript file returning the dense map [B,C,h,w] or (features, weight, bias)")
    String model;

    @Option(names = "--checkpoint", paramLabel = "ckpt.pth",
            description = "state dict of the architecture (torchvision or ReLabel .pth, or our own)")
    Path checkpoint;

    @Option(names = "--classes", defaultValue = "0", paramLabel = "N",
            description = "teacher classes (default: the dataset's class count for an architecture, any for TorchScript)")
    int classes;

    @Option(names = "--out", required = true, paramLabel = "OUT.rlm",
            description = "the store (with --shard: OUT.rlm.shard-<i>-of-<N>)")
    Path out;

    @Option(names = "--size", defaultValue = "224", paramLabel = "S",
            description = "input side: the whole image is resized to SxS, no crop (default: ${DEFAULT-VALUE}; the "
                    + "released maps: 475)")
    int size;

    @Option(names = "--k", defaultValue = "5", description = "classes kept per location (default: ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--flip", description = "average with the mirrored map of the mirrored image (2 forwards per image)")
    boolean flip;

    @Option(names = "--score-dtype", defaultValue = "fp16", paramLabel = "fp16|fp32",
            description = "score type in the store (default: ${DEFAULT-VALUE}; uint8: `relabel store convert` after)")
    String scoreDtype;

    @Option(names = "--batch", defaultValue = "32", description = "images per teacher forward (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--workers", defaultValue = "0", description = "decoding threads (0: all processors)")
    int workers;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda[:N]",
            description = "where the teacher and the top-k run (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--shard", paramLabel = "i/N", description = "annotate only slice i of N (0-based) of the dataset")
    String shard;

    @Option(names = "--restart", description = "discard an unfinished store at the output instead of continuing it")
    boolean restart;

    @Option(names = "--overwrite", description = "replace an existing finished store at the output")
    boolean overwrite;

    @Option(names = "--strict", description = "fail on an unreadable image (default: skip it, list it, exit 2 at the end)")
    boolean strict;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        int dev = ComputeOptions.parseDevice(device);
        if (workers < 0) throw new IllegalArgumentException("--workers must be >= 0, got " + workers);
        if (classes < 0) throw new IllegalArgumentException("--classes must be >= 1, got " + classes);
        DType scores = switch (scoreDtype.toLowerCase(Locale.ROOT)) {
            case "fp16", "float16" -> DType.FLOAT16;
            case "fp32", "float32" -> DType.FLOAT32;
            default -> throw new IllegalArgumentException("--score-dtype must be fp16 or fp32, got '" + scoreDtype
                    + "' (uint8: annotate in fp16, then `relabel store convert --score-dtype uint8`)");
        };
        if (oracle != null) return oracle(stdout, stderr, scores);
        if (data == null || model == null)
            throw new IllegalArgumentException("Missing required option: " + (data == null ? "'--data=SPEC'" : "'--model=ARCH|file.pt'")
                    + " (or --oracle coco:IMAGES_DIR:INSTANCES.json)");
        Shard s = shard == null ? null : Shard.parse(shard);
        Path target = s == null ? out : s.partFile(out);
        FileArgs.of().inSpec("--data", data).inModel("--model", model).in("--checkpoint", checkpoint)
                .out("--out", target).check();
        if (Files.exists(target) && !overwrite)
            throw new IllegalArgumentException(target + " exists: pass --overwrite to annotate again");

        Dataset dataset = Datasets.open(data);
        boolean script = Models.isTorchScript(model);
        int teacherClasses = classes > 0 ? classes : script ? 0 : dataset.classes().size();
        String teacherName = teacherName(script);
        try (Classifier teacher = models.load(model, checkpoint, teacherClasses)) {
            if (!script && checkpoint == null)
                stderr.println("annotate: warning: no --checkpoint: the teacher " + model.trim() + " has random weights");
            Annotator.Builder ab = Annotator.builder(teacher).teacherName(teacherName).size(size).k(k).flip(flip)
                    .batchSize(batch).device(Devices.name(dev)).shard(s).scoreType(scores).resume(!restart).sigmoid(sigmoid)
                    .strict(strict).metadata("command", "relabel "
                            + String.join(" ", spec.commandLine().getParseResult().originalArgs()))
                    .log(m -> {
                        stderr.println("annotate: " + m);
                        stderr.flush();
                    });
            if (workers > 0) ab.workers(workers);
            Progress[] progress = {null};
            ab.listener((done, total) -> {
                if (progress[0] == null) progress[0] = Progress.start("annotate", total, "images", stderr);
                progress[0].stepTo(done);
            });
            Annotator.Summary r;
            try {
                r = ab.build().run(dataset, target);
            } finally {
                if (progress[0] != null) progress[0].close();
            }
            report(stdout, r, s);
            if (r.skipped().isEmpty()) return 0;
            for (Annotator.Skipped sk : r.skipped())
                stderr.println("unreadable: " + sk.origin() + " (key " + sk.key() + ")");
            stderr.printf("%d image(s) could not be read (listed above); the store holds the others%n", r.skipped().size());
            return RelabelCli.EXIT_BAD_INPUT;
        }
    }

    /** --oracle: the covered-fraction maps of a COCO instances file. */
    private int oracle(PrintWriter stdout, PrintWriter stderr, DType scores) throws java.io.IOException {
        if (data != null || model != null || checkpoint != null || shard != null || flip || sigmoid)
            throw new IllegalArgumentException("--oracle takes its images from its spec and has no teacher: no --data, "
                    + "--model, --checkpoint, --flip, --sigmoid or --shard");
        if (!oracle.startsWith("coco:"))
            throw new IllegalArgumentException("--oracle must be coco:IMAGES_DIR:INSTANCES.json[:annotated], got " + oracle);
        FileArgs.of().out("--out", out).check();
        if (Files.exists(out) && !overwrite)
            throw new IllegalArgumentException(out + " exists: pass --overwrite to annotate again");
        String rest = oracle.substring("coco:".length());
        boolean annotated = rest.endsWith(":annotated");
        if (annotated) rest = rest.substring(0, rest.length() - ":annotated".length());
        int colon = rest.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("--oracle must be coco:IMAGES_DIR:INSTANCES.json, got " + oracle);
        CocoDataset coco = CocoDataset.open(Path.of(rest.substring(0, colon)), Path.of(rest.substring(colon + 1)),
                annotated, true);
        if (overwrite && Files.exists(out)) Files.delete(out);
        OracleMaps.Summary r;
        try (Progress progress = Progress.start("annotate", coco.size(), "images", stderr)) {
            r = OracleMaps.write(coco, out, mapSize, Math.min(k, coco.classes().size()), scores,
                    java.util.Map.of("command", "relabel " + String.join(" ",
                            spec.commandLine().getParseResult().originalArgs())), done -> progress.stepTo(done));
        }
        stdout.println(OracleMaps.describe(r));
        stdout.flush();
        return 0;
    }

    /** The teacher as the store's metadata names it: the model and checkpoint, files as absolute paths. */
    private String teacherName(boolean script) {
        String m = script ? Path.of(model.trim()).toAbsolutePath().normalize().toString() : model.trim();
        return checkpoint == null ? m : m + " from " + checkpoint.toAbsolutePath().normalize();
    }

    private void report(PrintWriter o, Annotator.Summary r, Shard s) {
        o.printf(Locale.ROOT, "annotated %d images -> %s (%s)%s in %.1f s: %.1f images/s%n", r.written(), r.store(),
                r.format(), r.resumed() > 0 ? ", " + r.resumed() + " kept from the interrupted run," : "", r.seconds(),
                r.imagesPerSecond());
        if (r.written() > 0)
            o.printf(Locale.ROOT, "time: teacher forward %.2f s, input to device %.2f s, top-k %.3f s, store %.3f s "
                            + "(top-k + store: %.2f%% of the forward), waiting for decoding %.2f s%n", r.forwardSeconds(),
                    r.inputSeconds(), r.topkSeconds(), r.storeSeconds(), 100 * r.topkStoreShare(), r.waitSeconds());
        if (s != null)
            o.printf("shard %s done; when all %d are: relabel store merge --out %s %s.shard-*-of-%05d%n", s, s.count(),
                    out, out, s.count());
        o.flush();
    }
}
