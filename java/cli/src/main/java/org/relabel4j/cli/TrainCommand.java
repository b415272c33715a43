package org.relabel4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.time.Duration;
import org.relabel4j.torch.Devices;
import org.relabel4j.train.TrainConfig;
import org.relabel4j.train.TrainListener;
import org.relabel4j.train.Trainer;
import org.relabel4j.train.dist.DistEnv;
import org.relabel4j.train.dist.Distributed;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relabel train}: train a classifier with ReLabel targets or one of the paper's baselines. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains an image classifier: one-hot, label smoothing, ReLabel (LabelPooling targets from a label-map "
                + "store), CutMix, label cleaning, knowledge distillation.",
                "The configuration is layered: built-in defaults, --preset, --config FILE (the released ReLabel YAML "
                        + "layout), then --set key=value and the shortcut options below. docs/training.md lists every key.",
                "The run directory (--out) receives config.yaml, metrics.jsonl, checkpoint.rlc, model.pth, curves.png "
                        + "and summary.json.",
                "Data-parallel: started by `relabel launch`, torchrun-style variables (RANK, WORLD_SIZE, LOCAL_RANK, "
                        + "MASTER_ADDR, MASTER_PORT) or an srun step (SLURM_PROCID, SLURM_NTASKS, ...), each process "
                        + "trains one rank over PyTorch c10d (NCCL on GPUs, Gloo on CPUs); see docs/distributed.md."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--preset", paramLabel = "NAME", description = "resnet50 (released ReLabel recipe), resnet50_cutmix, tiny")
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON config (released keys and ours)")
    Path configFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key, e.g. --set optim.lr.init=0.2 (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--data", paramLabel = "DIR", description = "ImageNet-layout root with train/ and val/ (data.data_path)")
    String data;

    @Option(names = "--train", paramLabel = "SPEC", description = "training set (data.train): " + DataCommand.DATA_HELP)
    String train;

    @Option(names = "--val", paramLabel = "SPEC", description = "validation set (data.val); '' for none")
    String val;

    @Option(names = "--labelmaps", paramLabel = "maps.rlm", description = "train on ReLabel targets from this store (data.relabel.use/path)")
    String labelmaps;

    @Option(names = "--gt-mix", paramLabel = "ALPHA", description = "target = ALPHA one-hot + (1 - ALPHA) pooled (data.relabel.gt_mix)")
    Double gtMix;

    @Option(names = "--dense", description = "also train the dense logits before pooling on S x S LabelPooling "
            + "targets (data.relabel.dense; with --labelmaps)")
    boolean dense;

    @Option(names = "--dense-weight", paramLabel = "W", description = "weight of the dense loss (data.relabel.dense_weight, "
            + "default 0.5)")
    Double denseWeight;

    @Option(names = "--arch", paramLabel = "NAME", description = "resnet18/34/50/101/152, small-cnn, or a TorchScript file (model.arch)")
    String arch;

    @Option(names = "--epochs", description = "optim.epochs")
    Integer epochs;

    @Option(names = "--batch-size", description = "global batch size (optim.batch_size); the recipe's rate is scaled "
            + "to it linearly unless --lr is given (optim.lr.scale, optim.lr.reference_batch)")
    Integer batchSize;

    @Option(names = "--lr", description = "base learning rate (optim.lr.init), taken as given for the run's batch")
    Double lr;

    @Option(names = "--device", paramLabel = "cpu|cuda[:N]", description = "compute.device")
    String device;

    @Option(names = "--amp", paramLabel = "off|bf16|fp16", description = "mixed precision (compute.amp)")
    String amp;

    @Option(names = "--workers", description = "loader threads (compute.num_workers)")
    Integer workers;

    @Option(names = "--seed", description = "compute.seed")
    Integer seed;

    @Option(names = "--max-steps", description = "stop after this many steps, with a checkpoint (util.max_steps)")
    Integer maxSteps;

    @Option(names = "--out", paramLabel = "DIR", description = "run directory (util.out)")
    String out;

    @Option(names = "--resume", paramLabel = "DIR|FILE", description = "continue a run from its checkpoint; "
            + "the run's own config is used (only where/how-fast keys may change)")
    Path resume;

    @Option(names = "--print-config", description = "print the resolved configuration as YAML and exit")
    boolean printConfig;

    @Option(names = "--dist-backend", paramLabel = "auto|gloo|nccl", defaultValue = "auto",
            description = "data-parallel backend of the training tensors (auto: NCCL on CUDA, Gloo on the CPU)")
    String distBackend;

    @Option(names = "--dist-timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "rendezvous and collective timeout: a rank that hangs this long stops the others")
    long distTimeout;

    @Option(names = "--bucket-mb", paramLabel = "MiB", defaultValue = "25", description = "gradient bucket size")
    double bucketMb;

    @Option(names = "--no-overlap", description = "all-reduce the gradients after the backward pass, not during it "
            + "(logs allreduce_ms per step)")
    boolean noOverlap;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        FileArgs.of().in("--config", configFile).check();
        List<String> overrides = new ArrayList<>(sets);
        shortcut(overrides, "data.data_path", data);
        shortcut(overrides, "data.train", train);
        shortcut(overrides, "data.val", val == null ? null : val.isEmpty() ? "''" : val);
        if (labelmaps != null) {
            overrides.add("data.relabel.use=true");
            shortcut(overrides, "data.relabel.path", labelmaps);
        }
        shortcut(overrides, "data.relabel.gt_mix", gtMix);
        if (dense) overrides.add("data.relabel.dense=true");
        shortcut(overrides, "data.relabel.dense_weight", denseWeight);
        shortcut(overrides, "model.arch", arch);
        shortcut(overrides, "optim.epochs", epochs);
        shortcut(overrides, "optim.batch_size", batchSize);
        shortcut(overrides, "optim.lr.init", lr);
        shortcut(overrides, "compute.device", device);
        shortcut(overrides, "compute.amp", amp);
        shortcut(overrides, "compute.num_workers", workers);
        shortcut(overrides, "compute.seed", seed);
        shortcut(overrides, "util.max_steps", maxSteps);
        shortcut(overrides, "util.out", out);
        // The job, not the config, says which rank this is: a lone process is rank 0 of 1 (and so cannot resume a
        // run of several ranks).
        DistEnv env = DistEnv.fromEnvironment();
        overrides.add("compute.rank=" + env.rank());
        overrides.add("compute.world_size=" + env.worldSize());
        TrainConfig config;
        if (resume != null) {
            if (preset != null || configFile != null)
                throw new IllegalArgumentException("--resume uses the run's own config: drop --preset/--config");
            // The run continues in the checkpoint's directory unless --out moves it.
            Path dir = java.nio.file.Files.isDirectory(resume) ? resume : resume.toAbsolutePath().getParent();
            List<String> withOut = new ArrayList<>(overrides);
            if (out == null) withOut.add("util.out=" + quote(dir.toAbsolutePath().toString()));
            config = Trainer.resumeConfig(resume, withOut);
        } else {
            config = TrainConfig.load(preset, configFile, overrides);
        }
        // A rank on a multi-GPU node trains on its own GPU, cuda:LOCAL_RANK (torchrun's convention), or on the one
        // GPU it sees (SLURM's --gpus-per-task); a resumed config names rank 0's device, so it is mapped again.
        String device = config.string("compute.device");
        if (env.distributed() && device != null && device.startsWith("cuda") && org.relabel4j.torch.Torch.cudaAvailable()) {
            int visible = org.bytedeco.pytorch.global.torch_cuda.device_count();
            config = config.with(List.of("compute.device=cuda:" + (visible == 1 ? 0 : env.localRank())));
        }
        if (printConfig) {
            for (String note : config.notes()) o.println("# " + note);
            o.print(config.toYaml());
            o.flush();
            return 0;
        }
        FileArgs.of().in("--labelmaps", labelmaps == null ? null : Path.of(labelmaps)).inSpec("--train", train)
                .inSpec("--val", val).check();
        if (env.distributed()) return trainDistributed(config, env, o);
        Listener listener = new Listener(o);
        try {
            Trainer.Result r = new Trainer(config, listener, null).run(resume);
            report(o, r);
        } finally {
            listener.close();
        }
        return 0;
    }

    /** One rank of a data-parallel job; rank 0 reports, the others print warnings only. */
    private int trainDistributed(TrainConfig config, DistEnv env, PrintWriter o) throws Exception {
        Distributed.Options options = Distributed.Options.defaults().withBackend(distBackend)
                .withTimeout(Duration.ofSeconds(distTimeout)).withBucketMb(bucketMb).withOverlap(!noOverlap);
        boolean cuda = Devices.parse(config.string("compute.device")) >= 0;
        boolean chief = env.rank() == 0;
        try (Distributed job = Distributed.init(env, cuda, options); Listener listener = new Listener(o, !chief)) {
            listener.log(String.format(Locale.ROOT, "distributed: %s, %s; gradients all-reduced %s, buckets of %s MiB",
                    job.backendName(), env, noOverlap ? "after the backward pass" : "during the backward pass (c10d Reducer)",
                    bucketMb));
            Trainer.Result r = Trainer.distributed(config, listener, job).run(resume);
            if (chief) report(o, r);
        }
        return 0;
    }

    private static void report(PrintWriter o, Trainer.Result r) {
        {
            o.printf(Locale.ROOT, "%s %d epoch(s), %d steps in %.1f s; last loss %.4f%s; peak host memory %.0f MB%s%n",
                    r.stoppedByMaxSteps() ? "stopped after" : "trained", r.epochsDone(), r.steps(), r.seconds(),
                    r.lastLoss(), r.valTop1() == null ? "" : String.format(Locale.ROOT, "; val top-1 %.2f%%, top-5 %.2f%%",
                            r.valTop1(), r.valTop5()),
                    r.peakHostBytes() / 1048576.0, r.peakDeviceBytes() == null ? ""
                            : String.format(Locale.ROOT, ", device %.0f MB", r.peakDeviceBytes() / 1048576.0));
            o.println("run directory: " + r.out());
            o.flush();
        }
    }

    private static void shortcut(List<String> overrides, String key, Object value) {
        if (value != null) overrides.add(key + "=" + (value instanceof String s ? quote(s) : value));
    }

    /** A YAML single-quoted scalar: paths and specs stay strings whatever they hold. */
    private static String quote(String s) {
        return s.equals("''") ? s : "'" + s.replace("'", "''") + "'";
    }

    /** Log lines to the output, and a progress bar per epoch on a terminal; quiet: warnings only. */
    private static final class Listener implements TrainListener, AutoCloseable {
        private final PrintWriter out;
        private final boolean quiet;
        private Progress progress;

        Listener(PrintWriter out) {
            this(out, false);
        }

        Listener(PrintWriter out, boolean quiet) {
            this.out = out;
            this.quiet = quiet;
        }

        @Override
        public void log(String line) {
            if (quiet && !line.toLowerCase(Locale.ROOT).contains("warning")) return;
            out.println(line);
            out.flush();
        }

        @Override
        public void epochStarted(int epoch, int epochs, int first, int batches) {
            close();
            if (quiet) return;
            progress = Progress.start(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, epochs), batches, "batch", out);
            progress.stepTo(first);
        }

        @Override
        public void stepEnded(int epoch, int batch, long step, double loss, double lr) {
            if (progress != null) progress.stepTo(batch + 1);
        }

        @Override
        public void epochEnded(int epoch) {
            close();
        }

        @Override
        public void close() {
            if (progress != null) progress.close();
            progress = null;
        }
    }
}
