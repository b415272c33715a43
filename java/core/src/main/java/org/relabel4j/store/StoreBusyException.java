package org.relabel4j.store;

import java.nio.file.Path;

/** A store or its unfinished file is in use by another reader or writer (its lock is held); nothing was changed. */
public class StoreBusyException extends StoreException {
    /** {@code file} is in use by another program, as {@code what} says. */
    public StoreBusyException(Path file, String what) {
        super(file, what);
    }
}
