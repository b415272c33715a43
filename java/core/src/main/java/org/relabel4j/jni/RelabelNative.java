package org.relabel4j.jni;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.ByPtrPtr;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The thin JavaCPP binding of the C ABI in {@code native/include/relabel/relabel.h}, one Java method per C function.
 * Callers use the typed facades in {@code org.relabel4j.ops}; this class validates nothing itself (the facades do,
 * and the native entry points validate again and report through status codes).
 */
@Platform(include = "relabel/relabel.h", link = "relabel")
public final class RelabelNative {
    static {
        Loader.load();
    }

    private RelabelNative() {}

    // Status codes.
    public static final int OK = 0;
    public static final int ERR_ARGUMENT = 1;
    public static final int ERR_NONFINITE = 2;
    public static final int ERR_NO_CUDA = 3;
    public static final int ERR_CUDA = 4;
    public static final int ERR_MEMORY = 5;
    public static final int ERR_BUSY = 6;
    public static final int ERR_FAULT = 7;

    // Element types.
    public static final int F32 = 0;
    public static final int F16 = 1;
    public static final int BF16 = 2;
    public static final int U16 = 3;
    public static final int I32 = 4;
    public static final int U8 = 5;

    public static final int MODE_LOGITS = 0;
    public static final int MODE_PROBS = 1;
    public static final int BOX_XYXY = 0;
    public static final int BOX_OFFICIAL = 1;
    public static final int FLAG_NONFINITE = 1;
    public static final int FLAG_F16_OVERFLOW = 2;

    /** {@code relabel_map_spec}: geometry and dtypes of one top-k label map. */
    @Name("relabel_map_spec")
    public static final class MapSpec extends Pointer {
        static {
            Loader.load();
        }

        public MapSpec() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native int k();
        public native MapSpec k(int v);
        public native int height();
        public native MapSpec height(int v);
        public native int width();
        public native MapSpec width(int v);
        public native int classes();
        public native MapSpec classes(int v);
        public native int score_dtype();
        public native MapSpec score_dtype(int v);
        public native int index_dtype();
        public native MapSpec index_dtype(int v);
    }

    /** {@code relabel_pool_params}: LabelPooling options. */
    @Name("relabel_pool_params")
    public static final class PoolParams extends Pointer {
        static {
            Loader.load();
        }

        public PoolParams() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native int out_size();
        public native PoolParams out_size(int v);
        public native int mode();
        public native PoolParams mode(int v);
        public native int box_order();
        public native PoolParams box_order(int v);
        public native int softmax();
        public native PoolParams softmax(int v);
        public native float temperature();
        public native PoolParams temperature(float v);
        public native int num_threads();
        public native PoolParams num_threads(int v);
    }

    /** {@code relabel_pool_stats}: counters a pooling call adds to. Host memory only from Java. */
    @Name("relabel_pool_stats")
    public static final class PoolStats extends Pointer {
        static {
            Loader.load();
        }

        public PoolStats() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native long cells();
        public native PoolStats cells(long v);
        public native long cells_top1_nonpositive();
        public native PoolStats cells_top1_nonpositive(long v);
        public native long bad_entries();
        public native PoolStats bad_entries(long v);
    }

    /** {@code relabel_record_layout}. */
    @Name("relabel_record_layout")
    public static final class RecordLayout extends Pointer {
        static {
            Loader.load();
        }

        public RecordLayout() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native long scores_offset();
        public native RecordLayout scores_offset(long v);
        public native long indices_offset();
        public native RecordLayout indices_offset(long v);
        public native long record_size();
        public native RecordLayout record_size(long v);
        public native long quant_offset();
        public native RecordLayout quant_offset(long v);
    }

    public static native @Cast("const char*") BytePointer relabel_version();

    public static native int relabel_abi_version();

    public static native @Cast("const char*") BytePointer relabel_build_info();

    public static native @Cast("const char*") BytePointer relabel_last_error();

    public static native int relabel_record_layout_of(@Const MapSpec spec, RecordLayout layout);

    public static native int relabel_label_pool(@Const MapSpec spec, @Const PoolParams params,
            @Const Pointer scores, @Const Pointer indices, long batch, @Cast("const float*") Pointer boxes,
            @Cast("const uint8_t*") Pointer flips, @Cast("float*") Pointer out, PoolStats stats);

    public static native int relabel_label_pool_gather(@Const MapSpec spec, @Const PoolParams params,
            @Const Pointer records, long numRecords, @Cast("const int64_t*") Pointer recordIndices, long batch,
            @Cast("const float*") Pointer boxes, @Cast("const uint8_t*") Pointer flips, @Cast("float*") Pointer out,
            PoolStats stats);

    public static native int relabel_topk_compress(@Const Pointer dense, int denseDtype, long batch, int classes,
            int height, int width, int k, Pointer scores, int scoreDtype, Pointer indices, int indexDtype,
            int numThreads);

    public static native int relabel_file_map(String path, @Cast("void**") @ByPtrPtr Pointer base,
            @Cast("int64_t*") LongPointer size);

    public static native int relabel_file_unmap(Pointer base, long size);

    public static native int relabel_file_advise(Pointer base, long offset, long length, int advice);

    public static native int relabel_file_advise_ranges(Pointer base, @Cast("const int64_t*") LongPointer offsets,
            long count, long length, int advice);

    public static native int relabel_file_lock(String path, int mode, int create, IntPointer fd);

    public static native int relabel_file_close(int fd);

    public static native int relabel_file_stat(String path, int fd, @Cast("int64_t*") LongPointer info);

    public static native int relabel_file_map_fd(int fd, @Cast("void**") @ByPtrPtr Pointer base,
            @Cast("int64_t*") LongPointer size);

    public static native int relabel_cuda_built();

    public static native int relabel_cuda_device_count(IntPointer count);

    public static native int relabel_cuda_device_name(int device, @Cast("char*") BytePointer name, int capacity);

    public static native int relabel_cuda_label_pool(@Const MapSpec spec, @Const PoolParams params,
            @Const Pointer scores, @Const Pointer indices, long batch, @Cast("const float*") Pointer boxes,
            @Cast("const uint8_t*") Pointer flips, @Cast("float*") Pointer out,
            @Cast("relabel_pool_stats*") Pointer deviceStats, int device, @Cast("relabel_stream") Pointer stream);

    public static native int relabel_cuda_label_pool_gather(@Const MapSpec spec, @Const PoolParams params,
            @Const Pointer records, long numRecords, @Cast("const int64_t*") Pointer recordIndices, long batch,
            @Cast("const float*") Pointer boxes, @Cast("const uint8_t*") Pointer flips, @Cast("float*") Pointer out,
            @Cast("relabel_pool_stats*") Pointer deviceStats, int device, @Cast("relabel_stream") Pointer stream);

    public static native int relabel_cuda_topk_compress(@Const Pointer dense, int denseDtype, long batch,
            int classes, int height, int width, int k, Pointer scores, int scoreDtype, Pointer indices,
            int indexDtype, @Cast("int32_t*") Pointer flags, int device, @Cast("relabel_stream") Pointer stream);

    public static native int relabel_cuda_malloc(int device, @Cast("void**") @ByPtrPtr Pointer ptr,
            @Cast("size_t") long bytes);

    public static native int relabel_cuda_free(Pointer ptr);

    public static native int relabel_cuda_memcpy(Pointer dst, @Const Pointer src, @Cast("size_t") long bytes,
            int kind);

    public static native int relabel_cuda_memset(Pointer ptr, int value, @Cast("size_t") long bytes);

    public static native int relabel_cuda_synchronize(int device, @Cast("relabel_stream") Pointer stream);

    /** The message of the last failing call on this thread. */
    public static String lastError() {
        return relabel_last_error().getString();
    }
}
