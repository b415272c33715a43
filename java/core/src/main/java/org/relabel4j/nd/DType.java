package org.relabel4j.nd;

import java.util.Arrays;

/** Element types of {@link NdArray}s, with their NumPy descriptors and native codes. */
public enum DType {
    FLOAT32("<f4", 4, 0),
    FLOAT16("<f2", 2, 1),
    /** bfloat16: no NumPy descriptor; reachable through LibTorch tensors. */
    BFLOAT16(null, 2, 2),
    UINT16("<u2", 2, 3),
    INT32("<i4", 4, 4),
    INT64("<i8", 8, -1),
    /** Bytes; as label-map scores: quantized per record (native code RELABEL_U8). */
    UINT8("|u1", 1, 5),
    BOOL("|b1", 1, -1),
    FLOAT64("<f8", 8, -1);

    private final String npyDescr;
    private final int size;
    private final int nativeCode;

    DType(String npyDescr, int size, int nativeCode) {
        this.npyDescr = npyDescr;
        this.size = size;
        this.nativeCode = nativeCode;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** The NumPy {@code descr} of this type (little-endian), or null when NumPy has none. */
    public String npyDescr() {
        return npyDescr;
    }

    /** The RELABEL_* code of relabel.h; only for the types the native ops take. */
    public int nativeCode() {
        if (nativeCode < 0) throw new IllegalStateException(this + " has no native code");
        return nativeCode;
    }

    /** The type of a NumPy descr such as {@code <f4}; '=' (native order, little-endian here) counts as '<'. */
    public static DType ofNpyDescr(String descr) {
        String d = descr.startsWith("=") ? "<" + descr.substring(1) : descr;
        if (d.equals("<u1") || d.equals("<b1")) d = "|" + d.substring(1);  // single bytes have no order
        for (DType t : values()) {
            if (d.equals(t.npyDescr)) return t;
        }
        throw new IllegalArgumentException("unsupported .npy dtype '" + descr + "' (supported: "
                + Arrays.stream(values()).filter(t -> t.npyDescr != null).map(t -> t.npyDescr).toList() + ")");
    }

    /** The lower-case name used in messages and CLI options, e.g. {@code float16}. */
    public String label() {
        return name().toLowerCase();
    }
}
