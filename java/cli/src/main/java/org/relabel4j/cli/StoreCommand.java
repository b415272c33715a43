package org.relabel4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.StoreConvert;
import org.relabel4j.store.StoreMerge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code relabel store}: operations on label-map stores. */
@Command(name = "store", mixinStandardHelpOptions = true, description = "Label-map store operations: merge, convert.",
        subcommands = {StoreCommand.Merge.class, StoreCommand.Convert.class})
final class StoreCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Joins stores (e.g. the shards of --shard i/N runs) into one, in the order given.",
                    "Checks that their formats agree, that no key repeats and that every record verifies; with --keys,"
                            + " that the keys are exactly those of the list (one per line)."})
    static final class Merge implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, paramLabel = "OUT.rlm", description = "the merged store")
        Path out;

        @Option(names = "--keys", paramLabel = "KEYS.txt", description = "the keys the result must hold exactly")
        Path keys;

        @Parameters(arity = "1..*", paramLabel = "PART.rlm", description = "stores to merge")
        List<Path> parts;

        @Option(names = "--overwrite", description = "replace an existing store at the output")
        boolean overwrite;

        @Override
        public Integer call() throws Exception {
            FileArgs.of().in("PART.rlm", parts).in("--keys", keys).out("--out", out).check();
            requireNew(out, overwrite);
            long total = 0;
            for (Path p : parts) {
                try (LabelMapStore s = LabelMapStore.open(p)) {
                    total += s.size();
                }
            }
            try (Progress progress = Progress.start("merge", total, "records", spec.commandLine().getErr())) {
                long n = StoreMerge.merge(parts, out, keys, progress::stepTo);
                spec.commandLine().getOut().printf(Locale.ROOT, "merged %d stores, %d records -> %s (%.1f s)%n",
                        parts.size(), n, out, progress.seconds());
            }
            return 0;
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Rewrites a store with another score dtype and/or a smaller k (each cell keeps its k largest).")
    static final class Convert implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--in", required = true, paramLabel = "IN.rlm", description = "the store to convert")
        Path in;

        @Option(names = "--out", required = true, paramLabel = "OUT.rlm", description = "the converted store")
        Path out;

        @Option(names = "--score-dtype", paramLabel = "fp16|fp32|uint8", description = "score type (default: unchanged)")
        String scoreDtype;

        @Option(names = "--k", defaultValue = "0", description = "entries per cell to keep (default: all)")
        int k;

        @Option(names = "--overwrite", description = "replace an existing store at the output")
        boolean overwrite;

        @Override
        public Integer call() throws Exception {
            FileArgs.of().in("--in", in).out("--out", out).check();
            requireNew(out, overwrite);
            DType t = scoreDtype == null ? null : parseScoreDtype(scoreDtype);
            long total;
            try (LabelMapStore s = LabelMapStore.open(in)) {
                total = s.size();
                StoreConvert.targetFormat(s.format(), t, k);  // checks the options before any work
            }
            try (Progress progress = Progress.start("convert", total, "records", spec.commandLine().getErr())) {
                MapFormat to = StoreConvert.convert(in, out, t, k, progress::stepTo);
                spec.commandLine().getOut().printf(Locale.ROOT, "converted %d records -> %s (%s, %.1f s)%n", total, out,
                        to, progress.seconds());
            }
            return 0;
        }
    }

    /** A finished store at {@code out} is replaced only with --overwrite (as import and annotate do). */
    static void requireNew(Path out, boolean overwrite) {
        if (java.nio.file.Files.exists(out) && !overwrite)
            throw new IllegalArgumentException(out + " exists: pass --overwrite to replace it");
    }

    /** fp16 / fp32 / uint8 (and their long names). */
    static DType parseScoreDtype(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "fp16", "float16" -> DType.FLOAT16;
            case "fp32", "float32" -> DType.FLOAT32;
            case "uint8", "u8" -> DType.UINT8;
            default -> throw new IllegalArgumentException("--score-dtype must be fp16, fp32 or uint8, got '" + v + "'");
        };
    }
}
