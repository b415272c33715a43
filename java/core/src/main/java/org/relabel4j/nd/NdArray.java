package org.relabel4j.nd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense, C-ordered, little-endian n-dimensional array in a direct (native) buffer: what the ops take and return
 * on the host, and what {@link Npy} reads and writes. Up to 2 GiB per array.
 *
 * <p>Not synchronized: concurrent reads are safe, a write concurrent with any other access is not. The buffer is
 * freed by the garbage collector (no close); an array handed to an op must stay reachable during the call.
 */
public final class NdArray {
    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private final ByteBuffer data;

    private NdArray(DType dtype, long[] shape, ByteBuffer data) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.numel = numel(this.shape);
        long bytes = numel * dtype.size();
        if (data.capacity() < bytes)
            throw new IllegalArgumentException("buffer of " + data.capacity() + " bytes is too small for "
                    + dtype.label() + Arrays.toString(shape) + " (" + bytes + " bytes)");
        this.data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(0).limit((int) bytes).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length; ++i) {
            if (shape[i] < 0) throw new IllegalArgumentException("negative dimension " + shape[i] + " in shape "
                    + Arrays.toString(shape));
            n = Math.multiplyExact(n, shape[i]);
        }
        return n;
    }

    /** A new zero-filled array. */
    public static NdArray zeros(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(numel(shape), (long) dtype.size());
        if (bytes > Integer.MAX_VALUE)
            throw new IllegalArgumentException(dtype.label() + Arrays.toString(shape) + " needs " + bytes
                    + " bytes; an NdArray holds at most 2 GiB (split the batch)");
        return new NdArray(dtype, shape, ByteBuffer.allocateDirect((int) Math.max(bytes, 1)));
    }

    /** An array over {@code buffer} (copied when it is not direct). */
    public static NdArray wrap(DType dtype, ByteBuffer buffer, long... shape) {
        if (buffer.isDirect()) return new NdArray(dtype, shape, buffer.slice());
        NdArray a = zeros(dtype, shape);
        a.data.put(buffer.duplicate().limit(buffer.position() + (int) a.nbytes()));
        a.data.clear();
        return a;
    }

    /** A new float32 array of {@code shape} holding a copy of {@code values} (row-major; their count must match). */
    public static NdArray of(float[] values, long... shape) {
        NdArray a = zeros(DType.FLOAT32, checkCount(values.length, shape));
        a.data.asFloatBuffer().put(values);
        return a;
    }

    /** A new int32 array of {@code shape} holding a copy of {@code values} (row-major; their count must match). */
    public static NdArray of(int[] values, long... shape) {
        NdArray a = zeros(DType.INT32, checkCount(values.length, shape));
        a.data.asIntBuffer().put(values);
        return a;
    }

    /** A new int64 array of {@code shape} holding a copy of {@code values} (row-major; their count must match). */
    public static NdArray of(long[] values, long... shape) {
        NdArray a = zeros(DType.INT64, checkCount(values.length, shape));
        a.data.asLongBuffer().put(values);
        return a;
    }

    /** A uint8 array of 0/1 (the flips the pooling ops take). */
    public static NdArray of(boolean[] values, long... shape) {
        NdArray a = zeros(DType.UINT8, checkCount(values.length, shape));
        for (int i = 0; i < values.length; ++i) a.data.put(i, (byte) (values[i] ? 1 : 0));
        return a;
    }

    private static long[] checkCount(int count, long[] shape) {
        long[] s = shape.length == 0 ? new long[] {count} : shape;
        if (numel(s) != count)
            throw new IllegalArgumentException(count + " values do not fill shape " + Arrays.toString(s));
        return s;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    /** The size of dimension {@code dim}. */
    public long shape(int dim) {
        return shape[dim];
    }

    /** The number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The number of elements (the product of the shape). */
    public long numel() {
        return numel;
    }

    /** The size of the data in bytes. */
    public long nbytes() {
        return numel * dtype.size();
    }

    /** The data: a direct little-endian buffer of exactly {@link #nbytes()} bytes, sharing this array's memory. */
    public ByteBuffer buffer() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Element {@code i} (flat index) as a float: floating types exactly, integer types converted. */
    public float getFloat(long i) {
        int at = byteIndex(i);
        switch (dtype) {
            case FLOAT32: return data.getFloat(at);
            case FLOAT16: return Half.toFloat(data.getShort(at));
            case BFLOAT16: return Half.bf16ToFloat(data.getShort(at));
            case FLOAT64: return (float) data.getDouble(at);
            default: return getLong(i);
        }
    }

    /** Element {@code i} (flat index) of an integer (or bool) array. */
    public long getLong(long i) {
        int at = byteIndex(i);
        switch (dtype) {
            case UINT16: return data.getShort(at) & 0xffff;
            case INT32: return data.getInt(at);
            case INT64: return data.getLong(at);
            case UINT8:
            case BOOL: return data.get(at) & 0xff;
            default: throw new IllegalStateException("getLong on a " + dtype.label() + " array");
        }
    }

    /** Sets flat element {@code i} to {@code v}, converted to the element type. */
    public void setFloat(long i, float v) {
        int at = byteIndex(i);
        switch (dtype) {
            case FLOAT32: data.putFloat(at, v); break;
            case FLOAT16: data.putShort(at, Half.fromFloat(v)); break;
            case BFLOAT16: data.putShort(at, (short) (Float.floatToRawIntBits(v) >>> 16)); break;
            case FLOAT64: data.putDouble(at, v); break;
            default: setLong(i, (long) v);
        }
    }

    /** Sets flat element {@code i} to {@code v}, converted to the element type. */
    public void setLong(long i, long v) {
        int at = byteIndex(i);
        switch (dtype) {
            case UINT16: data.putShort(at, (short) v); break;
            case INT32: data.putInt(at, (int) v); break;
            case INT64: data.putLong(at, v); break;
            case UINT8:
            case BOOL: data.put(at, (byte) v); break;
            default: setFloat(i, v);
        }
    }

    private int byteIndex(long i) {
        if (i < 0 || i >= numel) throw new IndexOutOfBoundsException("index " + i + " of " + numel + " elements");
        return (int) (i * dtype.size());
    }

    /** All elements, row-major, converted to float. */
    public float[] toFloatArray() {
        if (numel > Integer.MAX_VALUE) throw new IllegalStateException("too many elements for a Java array");
        float[] out = new float[(int) numel];
        if (dtype == DType.FLOAT32) {
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        } else {
            for (int i = 0; i < out.length; ++i) out[i] = getFloat(i);
        }
        return out;
    }

    /** All elements, row-major, converted to long (integer types only). */
    public long[] toLongArray() {
        if (numel > Integer.MAX_VALUE) throw new IllegalStateException("too many elements for a Java array");
        long[] out = new long[(int) numel];
        for (int i = 0; i < out.length; ++i) out[i] = getLong(i);
        return out;
    }

    /** A copy converted to {@code target} (floats round to nearest even; floats to integers truncate). */
    public NdArray astype(DType target) {
        NdArray out = zeros(target, shape);
        boolean floatingSource = dtype == DType.FLOAT32 || dtype == DType.FLOAT16 || dtype == DType.BFLOAT16
                || dtype == DType.FLOAT64;
        for (long i = 0; i < numel; ++i) {
            if (floatingSource) out.setFloat(i, getFloat(i));
            else out.setLong(i, getLong(i));
        }
        return out;
    }

    /** The first {@code rows} entries along dimension 0, sharing this array's memory. */
    public NdArray view(long rows) {
        if (rank() == 0 || rows < 0 || rows > shape[0])
            throw new IllegalArgumentException("cannot view " + rows + " rows of " + Arrays.toString(shape));
        long[] s = shape.clone();
        s[0] = rows;
        return new NdArray(dtype, s, data);
    }

    /** The same data viewed with another shape of the same element count. */
    public NdArray reshape(long... newShape) {
        if (numel(newShape) != numel)
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to "
                    + Arrays.toString(newShape));
        return new NdArray(dtype, newShape, data);
    }

    @Override
    public String toString() {
        return "NdArray(" + dtype.label() + Arrays.toString(shape) + ")";
    }
}
