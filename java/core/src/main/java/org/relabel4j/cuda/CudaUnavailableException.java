package org.relabel4j.cuda;

import org.relabel4j.RelabelException;

/** CUDA was asked for but is not there: the library was built without it, or there is no device or driver. */
public class CudaUnavailableException extends RelabelException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
