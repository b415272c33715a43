package org.relabel4j.ops;

import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;

/**
 * The shape and element types of one top-k label map: scores {@code [k,H,W]} (float32, float16, or uint8
 * quantized per record with a scale and offset) and class ids {@code [k,H,W]} (uint16 when classes <= 65535, or
 * int32) over {@code classes} classes. Also fixes the byte layout of a map as a record (see {@link #layout()}),
 * which label-map stores and {@link LabelPooling#gather} use. uint8 scores exist only in records.
 */
public record MapFormat(int classes, int k, int height, int width, DType scoreType, DType indexType) {
    /** Largest k of any op (RELABEL_MAX_K). */
    public static final int MAX_K = 64;
    /** Largest map side. */
    public static final int MAX_SIDE = 4096;

    /**
     * Checks the format (classes >= 1, 1 <= k <= classes, the map size, the score and index types); an
     * IllegalArgumentException naming the field and value otherwise.
     */
    public MapFormat {
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        if (k < 1 || k > MAX_K) throw new IllegalArgumentException("k must be in [1, " + MAX_K + "], got " + k);
        if (k > classes) throw new IllegalArgumentException("k (" + k + ") must be <= classes (" + classes + ")");
        if (height < 1 || height > MAX_SIDE || width < 1 || width > MAX_SIDE)
            throw new IllegalArgumentException("map size must be in [1, " + MAX_SIDE + "] per side, got " + height
                    + "x" + width);
        if (scoreType != DType.FLOAT32 && scoreType != DType.FLOAT16 && scoreType != DType.UINT8)
            throw new IllegalArgumentException("score type must be float32, float16 or uint8, got " + scoreType);
        if (indexType != DType.UINT16 && indexType != DType.INT32)
            throw new IllegalArgumentException("index type must be uint16 or int32, got " + indexType);
        if (indexType == DType.UINT16 && classes > 65535)
            throw new IllegalArgumentException("uint16 class ids cannot hold classes = " + classes
                    + " (> 65535): use int32");
    }

    /** E.g. "C=1000 k=5 15x15 float16/uint16". */
    @Override
    public String toString() {
        return "C=" + classes + " k=" + k + " " + height + "x" + width + " " + scoreType.label() + "/" + indexType.label();
    }

    /** The smallest index type for {@code classes}: uint16 up to 65535 classes, else int32. */
    public static DType indexTypeFor(int classes) {
        return classes <= 65535 ? DType.UINT16 : DType.INT32;
    }

    /** The byte layout of one map as a record (relabel.h: relabel_record_layout). */
    public RecordLayout layout() {
        try (RelabelNative.MapSpec spec = spec(); RelabelNative.RecordLayout l = new RelabelNative.RecordLayout()) {
            NativeStatus.check(RelabelNative.relabel_record_layout_of(spec, l), "record layout");
            return new RecordLayout(l.scores_offset(), l.indices_offset(), l.record_size(), l.quant_offset());
        }
    }

    RelabelNative.MapSpec spec() {
        return new RelabelNative.MapSpec().k(k).height(height).width(width).classes(classes)
                .score_dtype(scoreType.nativeCode()).index_dtype(indexType.nativeCode());
    }

    /**
     * Where the parts of a map record lie: scores at {@code scoresOffset}, class ids at {@code indicesOffset}, for
     * uint8 scores the float32 scale and offset at {@code quantOffset} (else -1); each record {@code recordSize}
     * bytes (a multiple of 64; padding is zero).
     */
    public record RecordLayout(long scoresOffset, long indicesOffset, long recordSize, long quantOffset) {
        /** True when the scores are uint8 with a per-record scale and offset. */
        public boolean quantized() {
            return quantOffset >= 0;
        }
    }
}
