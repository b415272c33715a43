package org.relabel4j.train.dist;

import org.relabel4j.RelabelException;

/**
 * A data-parallel job cannot go on: the rendezvous did not complete, or a collective failed because another rank
 * died, hung past the timeout, or disagreed about what to reduce. The message says which rank saw it, where, and
 * the underlying c10d error.
 */
public class DistributedException extends RelabelException {
    /** The collective that failed ("summing metrics"), or null. */
    final String where;

    public DistributedException(String message, Throwable cause) {
        this(message, cause, null);
    }

    DistributedException(String message, Throwable cause, String where) {
        super(message, cause);
        this.where = where;
    }
}
