package org.relabel4j.data;

import java.io.IOException;

/**
 * A dataset that cannot be opened or read as asked: a malformed list line, a tar shard with an incomplete sample,
 * two files with one key. The message names the file (and the line, entry or key).
 */
public class DatasetException extends IOException {
    /** A dataset problem described by {@code message} (which names the file and entry). */
    public DatasetException(String message) {
        super(message);
    }

    /** A dataset problem described by {@code message}, caused by {@code cause}. */
    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
