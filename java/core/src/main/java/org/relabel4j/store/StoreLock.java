package org.relabel4j.store;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.relabel4j.jni.RelabelNative;

/**
 * An advisory {@code flock(2)} lock on a store file, held through an open descriptor until {@link #close()}: shared
 * by every reader of a store ({@link LabelMapStore#open}), exclusive on a writer's {@code <out>.partial} for the
 * whole write and on an existing {@code <out>} while the writer renames its result over it. flock locks belong to
 * the open file, not the process, so two readers in one JVM share and a reader and a writer in one JVM conflict as
 * they would across processes; they follow the file through renames and vanish when the process dies (a killed
 * writer leaves no stale lock). Programs that ignore the lock (cp, truncate, an editor) are not kept out: readers
 * notice their changes through {@link #stat()} (docs/reliability.md).
 */
final class StoreLock implements Closeable {
    /** How long a reader waits while a writer holds a store exclusively (it does so only while renaming). */
    static final long READER_WAIT_MILLIS = 10_000;

    private final Path path;
    private int fd;

    private StoreLock(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** The lock, or null when another open file holds a conflicting one. */
    static StoreLock tryLock(Path path, boolean exclusive) throws IOException {
        return lock(path, exclusive ? 2 : 1, false);
    }

    /** Creates {@code path} (it must not exist: else null) and holds it exclusively. */
    static StoreLock create(Path path) throws IOException {
        return lock(path, 2, true);
    }

    /**
     * A reader's shared lock on the file {@code path} names: waits (up to {@link #READER_WAIT_MILLIS}) while a
     * writer holds it exclusively, and locks again when the path was renamed over meanwhile, so that the lock is on
     * the file the path names now.
     */
    static StoreLock shared(Path path) throws IOException {
        long deadline = System.nanoTime() + READER_WAIT_MILLIS * 1_000_000;
        while (true) {
            StoreLock lock = tryLock(path, false);
            if (lock != null) {
                if (lock.names(path)) return lock;
                lock.close();  // replaced between open and lock: take the new file
            } else if (System.nanoTime() > deadline) {
                throw new StoreBusyException(path, "is held exclusively by another process (a writer replacing it) for "
                        + "more than " + READER_WAIT_MILLIS / 1000 + " s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreException(path, "interrupted while waiting for a writer to release it");
            }
        }
    }

    private static StoreLock lock(Path path, int mode, boolean create) throws IOException {
        try (IntPointer fd = new IntPointer(1)) {
            fd.put(-1);
            int status = RelabelNative.relabel_file_lock(path.toString(), mode, create ? 1 : 0, fd);
            if (status == RelabelNative.ERR_BUSY) return null;
            if (status != RelabelNative.OK) {
                if (!create && !Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
                throw new StoreException(path, RelabelNative.lastError().replace(" " + path, ""));
            }
            return new StoreLock(path, fd.get());
        }
    }

    /** The descriptor the lock is held through (valid until {@link #close()}). */
    int fd() {
        if (fd < 0) throw new IllegalStateException(path + ": lock released");
        return fd;
    }

    /** {size, modification time in ns, device, inode} of the locked file (wherever it was renamed to). */
    long[] stat() throws StoreException {
        return stat(path, fd());
    }

    /** Whether {@code p} names the locked file now. */
    boolean names(Path p) throws IOException {
        long[] mine = stat(), there;
        try {
            there = stat(p, -1);
        } catch (StoreException e) {
            return false;  // gone
        }
        return mine[2] == there[2] && mine[3] == there[3];
    }

    static long[] stat(Path path, int fd) throws StoreException {
        try (LongPointer info = new LongPointer(4)) {
            if (RelabelNative.relabel_file_stat(path.toString(), fd, info) != RelabelNative.OK)
                throw new StoreException(path, RelabelNative.lastError());
            long[] v = new long[4];
            info.get(v);
            return v;
        }
    }

    @Override
    public void close() {
        if (fd >= 0) {
            RelabelNative.relabel_file_close(fd);
            fd = -1;
        }
    }
}
