package org.relabel4j.train.dist;

import org.relabel4j.RelabelException;

/**
 * A data-parallel job cannot go on: the rendezvous did not complete, or a collective failed because another rank
 * died, hung past the timeout, or disagreed about what to reduce. The message says which rank saw it, where, and
 * the underlying c10d error.
 */
public class DistributedException extends RelabelException {
    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
