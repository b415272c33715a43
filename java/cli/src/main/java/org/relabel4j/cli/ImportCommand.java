package org.relabel4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.relabel4j.store.LabelMapImport;
import org.relabel4j.store.Shard;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel import}: a tree of per-image .pt label maps into one store. */
@Command(name = "import", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Imports per-image torch.save label maps (<wnid>/<stem>.pt, one [2,k,H,W] tensor: scores, class ids)"
                + " into one label-map store. Reads torch.save files in Java (zip and legacy formats).",
                "Unreadable files are listed with the reason; without --strict the import finishes and exits 2 with"
                        + " their count."})
final class ImportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--format", defaultValue = "official", paramLabel = "official|tokenlabel",
            description = "official: the released ReLabel maps; tokenlabel: TokenLabeling's float16 maps")
    String format;

    @Option(names = "--src", required = true, paramLabel = "DIR", description = "root of the .pt tree")
    Path src;

    @Option(names = "--out", required = true, paramLabel = "OUT.rlm",
            description = "the store (with --shard: OUT.rlm.shard-<i>-of-<N>, to merge with `relabel store merge`)")
    Path out;

    @Option(names = "--classes", defaultValue = "1000", description = "number of classes C (default: ${DEFAULT-VALUE})")
    int classes;

    @Option(names = "--score-dtype", defaultValue = "fp16", paramLabel = "fp16|fp32|uint8",
            description = "score type in the store (default: ${DEFAULT-VALUE})")
    String scoreDtype;

    @Option(names = "--threads", defaultValue = "0", description = "decoding threads (0: all available processors)")
    int threads;

    @Option(names = "--shard", paramLabel = "i/N", description = "import only shard i of N (0-based) of the sorted file list")
    String shard;

    @Option(names = "--resume", description = "continue an interrupted import of the same output")
    boolean resume;

    @Option(names = "--strict", description = "stop at the first unreadable file (nothing is written)")
    boolean strict;

    @Option(names = "--overwrite", description = "replace an existing finished store at the output")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        LabelMapImport.Source source = switch (format.toLowerCase(Locale.ROOT)) {
            case "official" -> LabelMapImport.Source.OFFICIAL;
            case "tokenlabel" -> LabelMapImport.Source.TOKENLABEL;
            default -> throw new IllegalArgumentException("--format must be official or tokenlabel, got '" + format + "'");
        };
        Shard s = shard == null ? null : Shard.parse(shard);
        Path target = s == null ? out : s.partFile(out);
        FileArgs.of().inDir("--src", src).out("--out", target).check();
        int n = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("command", "relabel " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        meta.put("box_convention", "xyxy-normalized");
        LabelMapImport.Options options = new LabelMapImport.Options(source, src, target, classes,
                StoreCommand.parseScoreDtype(scoreDtype), n, strict, s, resume, overwrite, meta);
        LabelMapImport.checkOutput(options);  // before listing a tree of a million files
        List<Path> files = LabelMapImport.listFiles(src);
        long total = s == null ? files.size() : s.slice(files).size();
        PrintWriter err = spec.commandLine().getErr();
        LabelMapImport.Result r;
        double seconds;
        try (Progress progress = Progress.start("import", total, "files", err)) {
            r = LabelMapImport.run(options, progress::stepTo);
            seconds = progress.seconds();
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf(Locale.ROOT, "imported %d of %d files -> %s (%s)%s in %.1f s, %.0f files/s%n", r.records() - r.resumed(),
                r.files(), r.store(), r.format(), r.resumed() > 0 ? ", " + r.resumed() + " kept from the interrupted run" : "",
                seconds, (r.records() - r.resumed() + r.failures().size()) / Math.max(seconds, 1e-9));
        if (r.failures().isEmpty()) return 0;
        for (LabelMapImport.Failure f : r.failures()) err.println("unreadable: " + f.file() + ": " + f.reason());
        err.printf("%d file(s) could not be imported (listed above); the store holds the others%n", r.failures().size());
        return RelabelCli.EXIT_BAD_INPUT;
    }
}
