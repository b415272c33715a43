package org.relabel4j;

/** A failure of the native core that is not the caller's input: a CUDA error, an allocation failure. */
public class RelabelException extends RuntimeException {
    /** A failure described by {@code message}. */
    public RelabelException(String message) {
        super(message);
    }

    /** A failure described by {@code message}, caused by {@code cause}. */
    public RelabelException(String message, Throwable cause) {
        super(message, cause);
    }
}
