package org.relabel4j.store;

import java.nio.file.Path;

/** A key written twice to one store: the writer's {@code finish} found it while ordering the keys. */
public final class DuplicateKeyException extends StoreException {
    private final String key;
    private final long first, second;

    DuplicateKeyException(Path store, String key, long first, long second) {
        super(store, "duplicate key '" + key + "' (records " + first + " and " + second + ")");
        this.key = key;
        this.first = first;
        this.second = second;
    }

    /** The repeated key. */
    public String key() {
        return key;
    }

    /** The record numbers (in the store being written) that hold it, the earlier first. */
    public long first() {
        return first;
    }

    /** The later record number that holds it. */
    public long second() {
        return second;
    }
}
