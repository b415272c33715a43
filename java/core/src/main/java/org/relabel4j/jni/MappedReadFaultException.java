package org.relabel4j.jni;

import org.relabel4j.RelabelException;

/**
 * A native op's read of memory-mapped records faulted (SIGBUS, caught by the native core): another program truncated
 * their file under the mapping. The owner of the mapping (a label-map store) turns it into its own error naming the
 * file; the process is not harmed.
 */
public class MappedReadFaultException extends RelabelException {
    public MappedReadFaultException(String message) {
        super(message);
    }
}
