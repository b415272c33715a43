package org.relabel4j.store;

import java.nio.file.Path;

/**
 * An open store's file was truncated or rewritten in place by another program. Its mapping no longer holds what
 * was checked on open (pages cut off by a truncation would fault the process on access), so reading stops with
 * this exception before touching the records again.
 */
public class StoreChangedException extends StoreException {
    /** {@code file} changed while open, as {@code what} says. */
    public StoreChangedException(Path file, String what) {
        super(file, what);
    }
}
