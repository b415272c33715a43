package org.relabel4j.jni;

import org.relabel4j.RelabelException;
import org.relabel4j.cuda.CudaUnavailableException;

/** Turns the status codes of the C ABI into exceptions carrying the native message. */
public final class NativeStatus {
    private NativeStatus() {}

    /** Throws for any status but OK: bad input as IllegalArgumentException, the rest as RelabelException. */
    public static void check(int status, String operation) {
        if (status == RelabelNative.OK) return;
        String message = operation + ": " + RelabelNative.lastError();
        switch (status) {
            case RelabelNative.ERR_ARGUMENT:
            case RelabelNative.ERR_NONFINITE:
                throw new IllegalArgumentException(message);
            case RelabelNative.ERR_NO_CUDA:
                throw new CudaUnavailableException(message);
            case RelabelNative.ERR_FAULT:
                throw new MappedReadFaultException(message);
            default:
                throw new RelabelException(message + " (status " + status + ")");
        }
    }
}
