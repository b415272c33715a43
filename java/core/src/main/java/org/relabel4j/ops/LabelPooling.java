package org.relabel4j.ops;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.relabel4j.cuda.Cuda;
import org.relabel4j.cuda.CudaBuffer;
import org.relabel4j.jni.MappedReadFaultException;
import org.relabel4j.jni.NativeStatus;
import org.relabel4j.jni.RelabelNative;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;

/**
 * LabelPooling (Yun et al., CVPR 2021): the soft training target of a random crop, pooled from its image's top-k
 * label map over the crop box.
 *
 * <p>Semantics: {@code torchvision.ops.roi_align(dense, [b, x1*W-0.5, y1*H-0.5, x2*W-0.5, y2*H-0.5], (S,S),
 * spatial_scale=1, sampling_ratio=-1, aligned=False)} where {@code dense[c,y,x]} is the score of class c when c is
 * among the top-k at (y,x) and 0 elsewhere, computed by the native core without materializing the dense map; a
 * horizontally flipped crop mirrors the S x S output. Boxes are (x1, y1, x2, y2) normalized to the whole image.
 *
 * <p>Inputs: scores {@code [B,k,H,W]} (float32/float16), class ids {@code [B,k,H,W]} (uint16/int32), boxes
 * {@code [B,4]} float32, optional flips {@code [B]} (uint8/bool). Output: {@code [B,C]} float32 for S = 1, else
 * {@code [B,C,S,S]}. Host arrays ({@link NdArray}) are accepted here; LibTorch tensors (CPU or CUDA, output on the
 * same device, queued on LibTorch's current CUDA stream) through {@code org.relabel4j.torch.TensorOps} (module
 * relabel4j-torch); {@link #gather} reads maps by record index from an
 * array of map records (a label-map store in memory, or resident on the GPU).
 *
 * <p>Modes: {@link Mode#LOGITS} (the reference) pools logits, non-top-k classes counting as 0, and optionally
 * applies softmax(pooled / T); {@link Mode#PROBS} applies a softmax over each cell's top-k first, pools the
 * distributions and renormalizes (always a distribution). In logits mode a teacher whose top-k logits are <= 0
 * (e.g. trained with BCE) ranks its absent classes above its present ones; the first time most sampled cells of a
 * batch have a top-1 logit <= 0 this instance warns once and points to probs mode.
 *
 * <p>Bad input is an {@link IllegalArgumentException} naming the argument and value. On CUDA, box values and
 * record indices live in device memory and cannot be checked without a synchronization: the first call of an
 * instance checks them (and the warning statistics) with one synchronization; later calls write NaN rows for a
 * crop with a bad box or record index.
 *
 * <p>Instances are immutable apart from their statistics and are safe to share between threads.
 */
public final class LabelPooling {
    /** How the top-k maps are pooled. */
    public enum Mode {
        /** Pool logits (non-top-k classes count as 0); softmax after pooling if requested. The reference. */
        LOGITS,
        /** Softmax over each cell's top-k first, pool the distributions, divide by their sum. */
        PROBS
    }

    /** How the crop box is read. */
    public enum BoxOrder {
        /** (x1, y1, x2, y2), x scaled by W and y by H. */
        CORRECT,
        /** As the released relabel_imagenet code: the box read y/x-transposed, both axes scaled by W. */
        OFFICIAL
    }

    private static final EnumSet<DType> SCORE_TYPES = EnumSet.of(DType.FLOAT32, DType.FLOAT16);
    private static final EnumSet<DType> INDEX_TYPES = EnumSet.of(DType.UINT16, DType.INT32);
    private static final EnumSet<DType> FLIP_TYPES = EnumSet.of(DType.UINT8, DType.BOOL);
    private static final String[] BOX_FIELDS = {"x1", "y1", "x2", "y2"};
    private static final float MAX_BOX_COORDINATE = 64f;

    private final int classes;
    private final int outputSize;
    private final Mode mode;
    private final BoxOrder boxOrder;
    private final boolean softmax;
    private final float temperature;
    private final int threads;
    private final Consumer<String> warnings;
    private final AtomicBoolean warned = new AtomicBoolean();
    private final AtomicBoolean deviceChecked = new AtomicBoolean();
    private final AtomicLong cells = new AtomicLong();
    private final AtomicLong nonpositiveCells = new AtomicLong();

    private LabelPooling(Builder b) {
        this.classes = b.classes;
        this.outputSize = b.outputSize;
        this.mode = b.mode;
        this.boxOrder = b.boxOrder;
        this.softmax = b.softmax;
        this.temperature = b.temperature;
        this.threads = b.threads;
        this.warnings = b.warnings;
    }

    /** A builder for pooling over {@code classes} classes. */
    public static Builder builder(int classes) {
        return new Builder(classes);
    }

    /** The number of classes C of the maps and the targets. */
    public int classes() {
        return classes;
    }

    /** The output side S (targets {@code [B,C]} for S = 1, else {@code [B,C,S,S]}). */
    public int outputSize() {
        return outputSize;
    }

    /** Whether logits or per-cell top-k probabilities are pooled. */
    public Mode mode() {
        return mode;
    }

    /** How crop boxes are handed to RoIAlign (the correct order, or the released code's swapped one). */
    public BoxOrder boxOrder() {
        return boxOrder;
    }

    /** True when the output is a distribution per position (softmax in logits mode, or probs mode). */
    public boolean producesTargets() {
        return softmax || mode == Mode.PROBS;
    }

    /** The softmax temperature T (softmax(pooled / T)). */
    public float temperature() {
        return temperature;
    }

    /** CPU threads one call splits its batch over. */
    public int threads() {
        return threads;
    }

    /** The output shape for a batch of {@code batch} crops: [B,C] for S = 1, else [B,C,S,S]. */
    public long[] outputShape(long batch) {
        return outputSize == 1 ? new long[] {batch, classes} : new long[] {batch, classes, outputSize, outputSize};
    }

    /** Counters over all host-side calls so far (and the first CUDA call): sampled cells, cells with top-1 <= 0. */
    public Stats stats() {
        return new Stats(cells.get(), nonpositiveCells.get());
    }

    /** Cells sampled with nonzero weight, and those whose top-1 score is <= 0. */
    public record Stats(long cells, long cellsTop1Nonpositive) {}

    // ---------------------------------------------------------------- host arrays

    /** Pools a batch of host maps over host boxes; {@code flips} may be null. */
    public NdArray apply(NdArray scores, NdArray indices, NdArray boxes, NdArray flips) {
        NdArray out = NdArray.zeros(DType.FLOAT32, outputShape(scores == null ? 0 : batchOf(scores)));
        apply(scores, indices, boxes, flips, out);
        return out;
    }

    /** As {@link #apply(NdArray, NdArray, NdArray, NdArray)}, into {@code out} (float32, {@link #outputShape}). */
    public void apply(NdArray scores, NdArray indices, NdArray boxes, NdArray flips, NdArray out) {
        ArrayRef s = ArrayRef.of("scores", scores), i = ArrayRef.of("indices", indices);
        MapFormat format = mapFormat(s, i);
        long batch = s.shape[0];
        ArrayRef b = ArrayRef.of("boxes", boxes), f = flips == null ? null : ArrayRef.of("flips", flips);
        checkCrops(b, f, batch, s);
        runHost(format, s.data, i.data, null, 0, null, batch, b, f, checkOut(out, batch));
    }

    /**
     * Pools crop i from the map in record {@code recordIndices[i]} of {@code records} (uint8 {@code [N,
     * recordSize]}, laid out as {@code format.layout()} says).
     */
    public NdArray gather(NdArray records, MapFormat format, NdArray recordIndices, NdArray boxes, NdArray flips) {
        NdArray out = NdArray.zeros(DType.FLOAT32, outputShape(recordIndices == null ? 0 : batchOf(recordIndices)));
        gather(records, format, recordIndices, boxes, flips, out);
        return out;
    }

    /** As {@link #gather(NdArray, MapFormat, NdArray, NdArray, NdArray)}, into {@code out}. */
    public void gather(NdArray records, MapFormat format, NdArray recordIndices, NdArray boxes, NdArray flips,
            NdArray out) {
        ArrayRef r = ArrayRef.of("records", records), ri = ArrayRef.of("recordIndices", recordIndices);
        long batch = checkGather(r, format, ri);
        ArrayRef b = ArrayRef.of("boxes", boxes), f = flips == null ? null : ArrayRef.of("flips", flips);
        checkCrops(b, f, batch, r);
        runHost(format, null, null, r.data, r.shape[0], ri.data, batch, b, f, checkOut(out, batch));
    }

    /**
     * Pools crop i from record {@code recordIndices[i]} (int64 {@code [B]}) of {@code records} in place: a
     * memory-mapped store or records resident on a GPU (then boxes, flips and indices are host arrays copied to
     * that device for the call, and the result is copied back; the maps never move).
     */
    public NdArray gather(MapRecords records, NdArray recordIndices, NdArray boxes, NdArray flips) {
        NdArray out = NdArray.zeros(DType.FLOAT32, outputShape(recordIndices == null ? 0 : batchOf(recordIndices)));
        gather(records, recordIndices, boxes, flips, out);
        return out;
    }

    /** As {@link #gather(MapRecords, NdArray, NdArray, NdArray)}, into {@code out} (float32, {@link #outputShape}). */
    public void gather(MapRecords records, NdArray recordIndices, NdArray boxes, NdArray flips, NdArray out) {
        Objects.requireNonNull(records, "records");
        ArrayRef ri = ArrayRef.of("recordIndices", recordIndices);
        long batch = checkGather(records, ri);
        ArrayRef b = ArrayRef.of("boxes", boxes), f = flips == null ? null : ArrayRef.of("flips", flips);
        checkCrops(b, f, batch, ri);
        Pointer target = checkOut(out, batch);
        records.checkReadable();
        if (records.device() < 0) {
            try {
                runHost(records.format(), null, null, records.base(), records.count(), ri.data, batch, b, f, target);
            } catch (MappedReadFaultException e) {
                records.checkReadable();  // the file was cut during the gather: the owner's check names it
                throw e;
            }
            return;
        }
        int device = records.device();
        try (CudaBuffer di = CudaBuffer.upload(device, recordIndices); CudaBuffer db = CudaBuffer.upload(device, boxes);
                CudaBuffer df = flips == null ? null : CudaBuffer.upload(device, flips);
                CudaBuffer dout = CudaBuffer.allocate(device, Math.max(1, out.nbytes()))) {
            ArrayRef bd = ArrayRef.of("boxes", db, DType.FLOAT32, b.shape);
            ArrayRef fd = df == null ? null : ArrayRef.of("flips", df, f.dtype, f.shape);
            runCuda(records.format(), null, null, records.base(), records.count(), di.pointer(), batch, bd, fd,
                    dout.pointer(), device, null);
            Cuda.synchronize(device);
            NativeStatus.check(RelabelNative.relabel_cuda_memcpy(target, dout.pointer(), out.nbytes(), 2), "copy targets");
        }
    }

    private long checkGather(MapRecords records, ArrayRef recordIndices) {
        if (records.format().classes() != classes)
            throw new IllegalArgumentException("records: classes = " + records.format().classes()
                    + " but this LabelPooling has " + classes);
        recordIndices.requireRank(1, "[B]").requireDtype(EnumSet.of(DType.INT64));
        return recordIndices.shape[0];
    }

    private static long batchOf(NdArray a) {
        return a.rank() > 0 ? a.shape(0) : 0;
    }

    private Pointer checkOut(NdArray out, long batch) {
        ArrayRef o = ArrayRef.of("out", out).requireDtype(EnumSet.of(DType.FLOAT32));
        if (!Arrays.equals(o.shape, outputShape(batch)))
            throw new IllegalArgumentException("out: shape " + Arrays.toString(o.shape) + ", expected "
                    + Arrays.toString(outputShape(batch)));
        return o.data;
    }

    /** {@link #apply(NdArray, NdArray, NdArray, NdArray)} computed on CUDA device {@code device}. */
    public NdArray applyOnCuda(int device, NdArray scores, NdArray indices, NdArray boxes, NdArray flips) {
        ArrayRef hs = ArrayRef.of("scores", scores), hi = ArrayRef.of("indices", indices);
        MapFormat format = mapFormat(hs, hi);
        long batch = hs.shape[0];
        ArrayRef hb = ArrayRef.of("boxes", boxes), hf = flips == null ? null : ArrayRef.of("flips", flips);
        checkCrops(hb, hf, batch, hs);
        Cuda.require(device);
        long[] shape = outputShape(batch);
        try (CudaBuffer ds = CudaBuffer.upload(device, scores); CudaBuffer di = CudaBuffer.upload(device, indices);
                CudaBuffer db = CudaBuffer.upload(device, boxes);
                CudaBuffer df = flips == null ? null : CudaBuffer.upload(device, flips);
                CudaBuffer out = CudaBuffer.allocate(device, 4 * batch * classes * (long) outputSize * outputSize)) {
            ArrayRef b = ArrayRef.of("boxes", db, DType.FLOAT32, hb.shape);
            ArrayRef f = df == null ? null : ArrayRef.of("flips", df, hf.dtype, hf.shape);
            runCuda(format, ds.pointer(), di.pointer(), null, 0, null, batch, b, f, out.pointer(), device, null);
            Cuda.synchronize(device);
            return out.download(DType.FLOAT32, shape);
        }
    }

    // ---------------------------------------------------------------- memory owned by other libraries

    /**
     * Where the output of {@link #apply(ArrayRef, ArrayRef, ArrayRef, ArrayRef, Output)} and
     * {@link #gather(ArrayRef, MapFormat, ArrayRef, ArrayRef, ArrayRef, Output)} goes: memory the caller's library
     * allocates on the inputs' device (LibTorch: {@code org.relabel4j.torch.TensorOps}).
     */
    public interface Output {
        /** Allocates the float32 output of {@code shape} on the inputs' device; returns its address. */
        Pointer allocate(long[] shape);

        /** The CUDA stream to queue the kernel on for {@code device} (null: the default stream). */
        Pointer stream(int device);
    }

    /**
     * Pools arguments held by another library (see {@link ArrayRef#external}) on the host or one CUDA device, into
     * the memory {@code out} allocates (CUDA: queued on {@code out.stream}, not synchronized).
     */
    public void apply(ArrayRef scores, ArrayRef indices, ArrayRef boxes, ArrayRef flips, Output out) {
        MapFormat format = mapFormat(scores, indices);
        long batch = scores.shape[0];
        checkCrops(boxes, flips, batch, scores);
        Pointer target = out.allocate(outputShape(batch));
        if (scores.onHost()) {
            runHost(format, scores.data, indices.data, null, 0, null, batch, boxes, flips, target);
        } else {
            runCuda(format, scores.data, indices.data, null, 0, null, batch, boxes, flips, target, scores.device,
                    out.stream(scores.device));
        }
    }

    /**
     * Gathers and pools from records held by another library (uint8 {@code [N, recordSize]}, e.g. a label-map store
     * uploaded once to the GPU as a tensor); {@code recordIndices} int64 {@code [B]}; all on one device.
     */
    public void gather(ArrayRef records, MapFormat format, ArrayRef recordIndices, ArrayRef boxes, ArrayRef flips,
            Output out) {
        long batch = checkGather(records, format, recordIndices);
        checkCrops(boxes, flips, batch, records);
        Pointer target = out.allocate(outputShape(batch));
        if (records.onHost()) {
            runHost(format, null, null, records.data, records.shape[0], recordIndices.data, batch, boxes, flips, target);
        } else {
            runCuda(format, null, null, records.data, records.shape[0], recordIndices.data, batch, boxes, flips, target,
                    records.device, out.stream(records.device));
        }
    }

    // ---------------------------------------------------------------- validation

    private MapFormat mapFormat(ArrayRef scores, ArrayRef indices) {
        scores.requireRank(4, "[B,k,H,W]").requireDtype(SCORE_TYPES);
        indices.requireRank(4, "[B,k,H,W]").requireDtype(INDEX_TYPES).requireDevice(scores);
        if (!Arrays.equals(scores.shape, indices.shape))
            throw new IllegalArgumentException("indices: shape " + Arrays.toString(indices.shape)
                    + " differs from scores shape " + Arrays.toString(scores.shape));
        try {
            return new MapFormat(classes, (int) Math.min(scores.shape[1], Integer.MAX_VALUE),
                    (int) Math.min(scores.shape[2], Integer.MAX_VALUE), (int) Math.min(scores.shape[3], Integer.MAX_VALUE),
                    scores.dtype, indices.dtype);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("scores/indices " + Arrays.toString(scores.shape) + ": " + e.getMessage(), e);
        }
    }

    private long checkGather(ArrayRef records, MapFormat format, ArrayRef recordIndices) {
        Objects.requireNonNull(format, "format");
        if (format.classes() != classes)
            throw new IllegalArgumentException("format: classes = " + format.classes() + " but this LabelPooling has "
                    + classes);
        long recordSize = format.layout().recordSize();
        records.requireRank(2, "[N, recordSize]").requireDtype(EnumSet.of(DType.UINT8))
                .requireDim(1, recordSize, "the record size of " + format);
        recordIndices.requireRank(1, "[B]").requireDtype(EnumSet.of(DType.INT64)).requireDevice(records);
        return recordIndices.shape[0];
    }

    private static void checkCrops(ArrayRef boxes, ArrayRef flips, long batch, ArrayRef reference) {
        boxes.requireRank(2, "[B,4]").requireDtype(EnumSet.of(DType.FLOAT32)).requireDim(0, batch, "batch size")
                .requireDim(1, 4, "x1, y1, x2, y2").requireDevice(reference);
        if (flips != null)
            flips.requireRank(1, "[B]").requireDtype(FLIP_TYPES).requireDim(0, batch, "batch size").requireDevice(reference);
        if (boxes.onHost()) {
            // One bulk read, and a message only for a bad value: this runs on every call.
            float[] values = new float[Math.toIntExact(batch * 4)];
            new FloatPointer(boxes.data).get(values);
            for (int i = 0; i < values.length; ++i) {
                float v = values[i];
                if (Float.isFinite(v) && Math.abs(v) <= MAX_BOX_COORDINATE) continue;
                String at = "boxes[" + (i / 4) + "]." + BOX_FIELDS[i % 4] + " = " + v;
                if (!Float.isFinite(v)) throw new IllegalArgumentException(at + " is not finite");
                throw new IllegalArgumentException(at + " is outside [-64, 64] (boxes are normalized to the image)");
            }
        }
    }

    // ---------------------------------------------------------------- native calls

    private RelabelNative.PoolParams params() {
        return new RelabelNative.PoolParams().out_size(outputSize)
                .mode(mode == Mode.PROBS ? RelabelNative.MODE_PROBS : RelabelNative.MODE_LOGITS)
                .box_order(boxOrder == BoxOrder.OFFICIAL ? RelabelNative.BOX_OFFICIAL : RelabelNative.BOX_XYXY)
                .softmax(softmax ? 1 : 0).temperature(temperature).num_threads(threads);
    }

    private void runHost(MapFormat format, Pointer scores, Pointer indices, Pointer records, long numRecords,
            Pointer recordIndices, long batch, ArrayRef boxes, ArrayRef flips, Pointer out) {
        try (RelabelNative.MapSpec spec = format.spec(); RelabelNative.PoolParams p = params();
                RelabelNative.PoolStats stats = new RelabelNative.PoolStats().cells(0).cells_top1_nonpositive(0)
                        .bad_entries(0)) {
            Pointer flipData = flips == null ? null : flips.data;
            int status = records == null
                    ? RelabelNative.relabel_label_pool(spec, p, scores, indices, batch, boxes.data, flipData, out, stats)
                    : RelabelNative.relabel_label_pool_gather(spec, p, records, numRecords, recordIndices, batch,
                            boxes.data, flipData, out, stats);
            NativeStatus.check(status, records == null ? "label_pool" : "label_pool_gather");
            noteStats(stats.cells(), stats.cells_top1_nonpositive());
        }
    }

    private void runCuda(MapFormat format, Pointer scores, Pointer indices, Pointer records, long numRecords,
            Pointer recordIndices, long batch, ArrayRef boxes, ArrayRef flips, Pointer out, int device,
            Pointer stream) {
        // The first call of an instance also collects the statistics and checks the device-side data (one sync).
        boolean check = deviceChecked.compareAndSet(false, true);
        try (RelabelNative.MapSpec spec = format.spec(); RelabelNative.PoolParams p = params();
                CudaBuffer stats = check ? CudaBuffer.zeros(device, 24) : null) {
            Pointer statsPtr = stats == null ? null : stats.pointer();
            Pointer flipData = flips == null ? null : flips.data;
            int status = records == null
                    ? RelabelNative.relabel_cuda_label_pool(spec, p, scores, indices, batch, boxes.data, flipData, out,
                            statsPtr, device, stream)
                    : RelabelNative.relabel_cuda_label_pool_gather(spec, p, records, numRecords, recordIndices, batch,
                            boxes.data, flipData, out, statsPtr, device, stream);
            NativeStatus.check(status, records == null ? "cuda label_pool" : "cuda label_pool_gather");
            if (stats != null) {
                NativeStatus.check(RelabelNative.relabel_cuda_synchronize(device, stream), "cuda label_pool");
                NdArray s = stats.download(DType.INT64, 3);
                if (s.getLong(2) > 0)
                    throw new IllegalArgumentException((records == null ? "boxes/indices" : "boxes/recordIndices/records")
                            + ": " + s.getLong(2) + " output position(s) of the batch come from a non-finite box, a box "
                            + "coordinate outside [-64, 64], " + (records == null ? ""
                                    : "a record index outside [0, " + numRecords + "), ")
                            + "or a class id outside [0, " + classes + ")");
                noteStats(s.getLong(0), s.getLong(1));
            }
        }
    }

    private void noteStats(long sampled, long nonpositive) {
        cells.addAndGet(sampled);
        nonpositiveCells.addAndGet(nonpositive);
        if (mode == Mode.LOGITS && sampled > 0 && nonpositive * 2 > sampled && warned.compareAndSet(false, true)) {
            warnings.accept(String.format(
                    "LabelPooling: %d of %d sampled cells (%.0f%%) have a top-1 logit <= 0. In logits mode the classes "
                            + "outside the top-k count as logit 0 and then outrank the teacher's own top-k, which "
                            + "inverts the targets (e.g. a teacher trained with BCE). Use probs mode (--mode probs).",
                    nonpositive, sampled, 100.0 * nonpositive / sampled));
        }
    }

    /** Options of a {@link LabelPooling}. */
    public static final class Builder {
        private final int classes;
        private int outputSize = 1;
        private Mode mode = Mode.LOGITS;
        private BoxOrder boxOrder = BoxOrder.CORRECT;
        private boolean softmax;
        private float temperature = 1f;
        private int threads = 1;
        private Consumer<String> warnings =
                message -> System.getLogger("org.relabel4j").log(System.Logger.Level.WARNING, message);

        private Builder(int classes) {
            if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
            this.classes = classes;
        }

        /** S: 1 for ReLabel targets, S x S for dense (token) targets. */
        public Builder outputSize(int s) {
            if (s < 1 || s > 256) throw new IllegalArgumentException("outputSize must be in [1, 256], got " + s);
            this.outputSize = s;
            return this;
        }

        /** Pools logits ({@link Mode#LOGITS}, the default) or per-cell top-k probabilities ({@link Mode#PROBS}). */
        public Builder mode(Mode m) {
            this.mode = Objects.requireNonNull(m, "mode");
            return this;
        }

        /** The crop box order handed to RoIAlign ({@link BoxOrder#CORRECT}, the default). */
        public Builder boxOrder(BoxOrder order) {
            this.boxOrder = Objects.requireNonNull(order, "boxOrder");
            return this;
        }

        /** Logits mode: output softmax(pooled / T) instead of the pooled logits. */
        public Builder softmax(boolean on) {
            this.softmax = on;
            return this;
        }

        /** The softmax temperature (logits mode), or the per-cell one (probs mode); finite and > 0. */
        public Builder temperature(float t) {
            if (!(t > 0) || !Float.isFinite(t))
                throw new IllegalArgumentException("temperature must be finite and > 0, got " + t);
            this.temperature = t;
            return this;
        }

        /** CPU worker threads per call (1 by default: data-loader workers are parallel already). */
        public Builder threads(int n) {
            if (n < 1 || n > 1024) throw new IllegalArgumentException("threads must be in [1, 1024], got " + n);
            this.threads = n;
            return this;
        }

        /** Where the one-time logits-mode warning goes (default: the "org.relabel4j" System.Logger). */
        public Builder warnings(Consumer<String> sink) {
            this.warnings = Objects.requireNonNull(sink, "warnings");
            return this;
        }

        /** A LabelPooling with these options. */
        public LabelPooling build() {
            return new LabelPooling(this);
        }
    }
}
