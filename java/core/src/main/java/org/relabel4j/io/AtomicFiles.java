package org.relabel4j.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Atomic file output: the content goes to a temporary file next to the output, is forced to disk and renamed over
 * the output, so that a reader (or a crash) sees the old file or the whole new one, never part of one. Errors name
 * the output and the reason ({@code out.npy: cannot write: permission denied (directory /data)}), not the temporary.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the temporary file it is given. */
    @FunctionalInterface
    public interface Body {
        void write(Path tmp) throws IOException;
    }

    /** Writes {@code out} atomically through {@code body}; a failure leaves {@code out} as it was. */
    public static void write(Path out, Body body) throws IOException {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) throw new IOException(out + ": is a directory, expected a file to write");
        Path tmp = null;
        try {
            if (dir != null) createDirectories(out, dir);
            tmp = Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
            body.write(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (CannotWrite e) {
            throw e;
        } catch (FileSystemException e) {
            // name the output (and the directory, when that is what refused), never the temporary file
            Path file = e.getFile() == null ? null : Path.of(e.getFile()).toAbsolutePath();
            boolean ours = file == null || file.equals(abs) || (file.getParent() != null && file.getParent().equals(dir)
                    && file.getFileName().toString().startsWith("." + abs.getFileName()));
            String detail = !ours ? " (" + e.getFile() + ")"
                    : e instanceof AccessDeniedException && dir != null ? " (directory " + dir + ")" : "";
            throw new CannotWrite(out, FileChecks.reason(e) + detail, e);
        } catch (IOException e) {
            throw new CannotWrite(out, e.getMessage(), e);
        } finally {
            if (tmp != null) Files.deleteIfExists(tmp);
        }
    }

    /** Creates the output's directory; a file in its way is named. */
    public static void createDirectories(Path out, Path dir) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new CannotWrite(out, e.getFile() + " is not a directory", e);
        } catch (FileSystemException e) {
            throw new CannotWrite(out, FileChecks.reason(e) + (e.getFile() == null ? "" : " (" + e.getFile() + ")"), e);
        }
    }

    /** An output that cannot be written: "OUT: cannot write: reason". */
    public static final class CannotWrite extends IOException {
        CannotWrite(Path out, String why, Throwable cause) {
            super(out + ": cannot write: " + why, cause);
        }
    }
}
