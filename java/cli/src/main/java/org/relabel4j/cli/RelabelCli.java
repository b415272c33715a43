package org.relabel4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import org.relabel4j.io.FileChecks;
import org.relabel4j.RelabelException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code relabel} command line: thin commands over the library. Exit codes: 0 success, 1 a failure of the
 * tool or the machine (CUDA error, I/O), 2 bad usage or bad input (the message names the file/field/value),
 * 3 a {@code --check} found the output outside its tolerance.
 */
@Command(name = "relabel", mixinStandardHelpOptions = true, versionProvider = RelabelCli.Version.class,
        description = "ReLabel (Yun et al., CVPR 2021) for the JVM: LabelPooling targets and top-k label maps.",
        subcommands = {PoolCommand.class, CompressCommand.class, ImportCommand.class, StoreCommand.class, InspectCommand.class,
                DataCommand.class, TrainCommand.class, LaunchCommand.class, EvalCommand.class, AnnotateCommand.class,
                ShowCommand.class, DemoCommand.class,
                DoctorCommand.class, CommandLine.HelpCommand.class})
public final class RelabelCli implements Runnable {
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_CHECK_FAILED = 3;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the CLI with the given streams (tests use this); returns the exit code. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new RelabelCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String name = commandLine.getCommandSpec().qualifiedName();
            Throwable cause = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
            commandLine.getErr().println(name + ": error: " + message(cause));
            commandLine.getErr().flush();
            if (cause instanceof IllegalArgumentException || cause instanceof IOException) return EXIT_BAD_INPUT;
            if (!(cause instanceof RelabelException)) cause.printStackTrace(commandLine.getErr());
            return EXIT_FAILURE;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * An exception's message for the user: a file-system error as "FILE: reason" (Java's own carry only the file,
     * e.g. "x.npy" for a missing file), anything else as its message (its class when it has none).
     */
    static String message(Throwable e) {
        if (e instanceof FileSystemException fs) return FileChecks.describe(fs);
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = RelabelCli.class.getPackage().getImplementationVersion();
            return new String[] {"relabel4j " + (v != null ? v : "0.1.0-SNAPSHOT")};
        }
    }
}
