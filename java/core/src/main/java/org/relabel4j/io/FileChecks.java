package org.relabel4j.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/** Checks of the files a command reads and writes; every error names the file, the option and the reason. */
public final class FileChecks {
    private FileChecks() {}

    /**
     * Whether {@code a} and {@code b} name the same file: the same file key (device and inode: hard links and
     * symbolic links included) when both exist, else the same real path (the real path of the deepest existing
     * parent, then the rest of the path).
     */
    public static boolean sameFile(Path a, Path b) {
        try {
            boolean ea = Files.exists(a), eb = Files.exists(b);
            if (ea && eb) return Files.isSameFile(a, b);
            if (ea != eb) return false;
            return realPath(a).equals(realPath(b));
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    /** The real path of the deepest existing ancestor of {@code p}, joined with the rest of {@code p}. */
    static Path realPath(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize(), existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        return existing.toRealPath().resolve(existing.relativize(abs));
    }

    /**
     * An input file given as {@code option}: it must exist, be a regular file (not a directory) and be readable.
     * The error is an IOException such as {@code --scores s.npy: no such file}.
     */
    public static Path requireFile(String option, Path p) throws IOException {
        if (!Files.exists(p)) throw new InputFileException(option, p, Files.isSymbolicLink(p)
                ? "no such file (a broken symbolic link)" : "no such file");
        if (Files.isDirectory(p)) throw new InputFileException(option, p, "is a directory, expected a file");
        if (!Files.isRegularFile(p)) throw new InputFileException(option, p, "is not a regular file");
        if (!Files.isReadable(p)) throw new InputFileException(option, p, "permission denied (not readable)");
        return p;
    }

    /** An input directory given as {@code option}: it must exist and be a readable directory. */
    public static Path requireDirectory(String option, Path p) throws IOException {
        if (!Files.exists(p)) throw new InputFileException(option, p, "no such directory");
        if (!Files.isDirectory(p)) throw new InputFileException(option, p, "is not a directory");
        if (!Files.isReadable(p)) throw new InputFileException(option, p, "permission denied (not readable)");
        return p;
    }

    /** What went wrong, in words: "no such file or directory", "permission denied", or the exception's reason. */
    public static String reason(FileSystemException e) {
        if (e.getReason() != null) return e.getReason();
        if (e instanceof NoSuchFileException) return "no such file or directory";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException) return "already exists";
        if (e instanceof NotDirectoryException) return "not a directory";
        if (e instanceof DirectoryNotEmptyException) return "directory not empty";
        return e.getClass().getSimpleName();
    }

    /** "FILE: reason" (and " -> OTHER" for a two-file operation) of a file-system exception. */
    public static String describe(FileSystemException e) {
        String file = e.getFile() == null ? "" : e.getFile() + (e.getOtherFile() == null ? "" : " -> " + e.getOtherFile());
        return file.isEmpty() ? reason(e) : file + ": " + reason(e);
    }

    /** An input named by an option that cannot be read: "--option FILE: what". */
    public static final class InputFileException extends IOException {
        public InputFileException(String option, Path file, String what) {
            super((option == null ? "" : option + " ") + file + ": " + what);
        }
    }
}
