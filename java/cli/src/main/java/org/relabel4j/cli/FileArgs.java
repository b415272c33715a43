package org.relabel4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.relabel4j.io.FileChecks;
import org.relabel4j.model.Models;

/**
 * The files a command reads and writes, checked before any work: every input exists and is a readable file (or
 * directory), and no output is the same file as an input (it would be destroyed) or as another output (one would
 * overwrite the other). Errors name the options, the files and the reason; the CLI exits 2.
 */
final class FileArgs {
    private record Arg(String option, Path path) {}

    private final List<Arg> inputs = new ArrayList<>(), outputs = new ArrayList<>();

    static FileArgs of() {
        return new FileArgs();
    }

    /** An input file (null: not given). */
    FileArgs in(String option, Path p) throws IOException {
        if (p != null) inputs.add(new Arg(option, FileChecks.requireFile(option, p)));
        return this;
    }

    /** Input files. */
    FileArgs in(String option, List<Path> ps) throws IOException {
        for (Path p : ps) in(option, p);
        return this;
    }

    /** An input directory (null: not given). */
    FileArgs inDir(String option, Path p) throws IOException {
        if (p != null) FileChecks.requireDirectory(option, p);
        return this;
    }

    /** The file of a dataset SPEC that is one ({@code list:FILE}); directories and tar patterns need no check here. */
    FileArgs inSpec(String option, String spec) throws IOException {
        if (spec != null && spec.startsWith("list:")) in(option, Path.of(spec.substring("list:".length())));
        return this;
    }

    /** A file given as a model (a TorchScript .pt) rather than an architecture name. */
    FileArgs inModel(String option, String model) throws IOException {
        if (Models.isTorchScript(model)) in(option, Path.of(model.trim()));
        return this;
    }

    /** An output file (null: not given). */
    FileArgs out(String option, Path p) {
        if (p != null) outputs.add(new Arg(option, p));
        return this;
    }

    /** Checks the outputs against the inputs and each other. */
    void check() throws IOException {
        for (int i = 0; i < outputs.size(); ++i) {
            Arg o = outputs.get(i);
            if (Files.isDirectory(o.path()))
                throw new IOException(o.option() + " " + o.path() + ": is a directory, expected a file to write");
            for (Arg in : inputs) {
                if (FileChecks.sameFile(o.path(), in.path()))
                    throw new IllegalArgumentException(o.option() + " " + o.path() + " is the same file as " + in.option()
                            + " " + in.path() + ": writing it would destroy the input; choose another output");
            }
            for (int j = 0; j < i; ++j) {
                Arg other = outputs.get(j);
                if (FileChecks.sameFile(o.path(), other.path()))
                    throw new IllegalArgumentException(o.option() + " " + o.path() + " is the same file as "
                            + other.option() + " " + other.path() + ": one output would overwrite the other; give each "
                            + "its own file");
            }
        }
    }
}
