package org.relabel4j.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * {@link NdArray} to and from DJL's {@link NDArray}. Both directions hand over a direct buffer when there is one:
 * {@link #toDjl} passes the NdArray's direct buffer to {@link NDManager#create(java.nio.Buffer, Shape, DataType)},
 * which an engine may use in place (DJL's contract leaves copying to the engine); {@link #fromDjl} wraps the
 * direct buffer of {@link NDArray#toByteBuffer(boolean) toByteBuffer(true)} without a copy, and copies only a heap
 * buffer. Where no copy is made, the two arrays share memory: the side that owns it (the NdArray, or the NDArray's
 * manager) must outlive the other's use. Stateless and thread-safe.
 */
public final class DjlArrays {
    private DjlArrays() {}

    /** DJL's data type for {@code d}; an IllegalArgumentException for one DJL lacks. */
    public static DataType dataType(DType d) {
        return switch (d) {
            case FLOAT32 -> DataType.FLOAT32;
            case FLOAT16 -> DataType.FLOAT16;
            case BFLOAT16 -> DataType.BFLOAT16;
            case FLOAT64 -> DataType.FLOAT64;
            case UINT8 -> DataType.UINT8;
            case UINT16 -> DataType.UINT16;
            case INT32 -> DataType.INT32;
            case INT64 -> DataType.INT64;
            case BOOL -> DataType.BOOLEAN;
        };
    }

    /** Our element type for DJL's {@code t}; an IllegalArgumentException naming it when there is none. */
    public static DType dtype(DataType t) {
        for (DType d : DType.values()) if (dataType(d) == t) return d;
        throw new IllegalArgumentException("DJL data type " + t + " has no NdArray counterpart (expected one of "
                + "float32, float16, bfloat16, float64, uint8, uint16, int32, int64, boolean)");
    }

    /**
     * A DJL array of {@code a}'s shape, type and values, made by {@code manager} from {@code a}'s direct buffer
     * (engines that use a direct buffer in place share it: keep {@code a} reachable while the NDArray lives).
     */
    public static NDArray toDjl(NdArray a, NDManager manager) {
        if (a == null) throw new IllegalArgumentException("array must not be null");
        ByteBuffer data = a.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        data.limit((int) a.nbytes());
        return manager.create(data, new Shape(a.shape()), dataType(a.dtype()));
    }

    /**
     * An NdArray of {@code x}'s shape, type and values: a view of its memory when DJL hands out a direct buffer
     * (valid while {@code x} is open), else a copy. The element order is row-major, little-endian, as DJL's.
     */
    public static NdArray fromDjl(NDArray x) {
        if (x == null) throw new IllegalArgumentException("array must not be null");
        DType d = dtype(x.getDataType());
        long[] shape = x.getShape().getShape();
        ByteBuffer b = x.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        long want = d.size();
        for (long s : shape) want *= s;
        if (b.remaining() != want)
            throw new IllegalArgumentException("DJL array " + x.getShape() + " " + x.getDataType()
                    + ": its buffer holds " + b.remaining() + " bytes, expected " + want);
        return NdArray.wrap(d, b, shape);
    }
}
