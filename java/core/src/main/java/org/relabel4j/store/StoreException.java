package org.relabel4j.store;

import java.io.IOException;
import java.nio.file.Path;

/** A label-map store that cannot be read or written as asked; the message names the file and the field. */
public class StoreException extends IOException {
    /** A problem with {@code file}: {@code what} (the message names both). */
    public StoreException(Path file, String what) {
        super(file + ": " + what);
    }

    /** A problem with {@code file}: {@code what}, caused by {@code cause}. */
    public StoreException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
