package org.relabel4j.data;

import java.io.IOException;
import java.util.List;

/**
 * An indexed collection of encoded images with one class label each. Implementations are immutable after
 * construction and safe for concurrent {@link #read} calls from loader threads.
 */
public interface Dataset {
    /** Number of samples. */
    int size();

    /** Sample {@code index} in [0, size()). */
    Sample sample(int index);

    /** The class names; class index = position. */
    List<String> classes();

    /** The encoded bytes (JPEG, PNG, ...) of sample {@code index}; an IOException names the sample's origin. */
    byte[] read(int index) throws IOException;

    /** A one-line description: kind, root, samples, classes. */
    String description();
}
