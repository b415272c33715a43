package org.relabel4j.data.image;

import java.io.IOException;

/**
 * Encoded bytes that do not decode to an image: garbage, a truncated file, zero or too large dimensions, an
 * unsupported format. The message starts with the origin (file, tar member) the caller named.
 */
public class CorruptImageException extends IOException {
    private final String origin;

    public CorruptImageException(String origin, String reason) {
        super(origin + ": " + reason);
        this.origin = origin;
    }

    public CorruptImageException(String origin, String reason, Throwable cause) {
        super(origin + ": " + reason, cause);
        this.origin = origin;
    }

    /** Where the bytes came from, as the caller named it. */
    public String origin() {
        return origin;
    }
}
