package org.relabel4j.annotate;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.relabel4j.torch.TensorOps;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.ops.TopK;
import org.relabel4j.store.LabelMapStoreWriter;
import org.relabel4j.torch.Tensors;

/**
 * Streams batches of top-k maps ({@link TopK}'s tensors, on the CPU or a GPU) into a store: only the k entries per
 * location are copied to the host; each image's scores and ids are laid out as one record (no decoding, no
 * re-sorting: TopK's output is already descending with distinct ids) and appended; the batch is then handed to the
 * file system ({@link LabelMapStoreWriter#flush}), so a killed process loses at most the batch in flight.
 */
public final class MapRecordWriter {
    private final LabelMapStoreWriter writer;
    private final MapFormat format;
    private final MapFormat.RecordLayout layout;
    private final int scoreBytes, idBytes;
    private final ByteBuffer record;

    public MapRecordWriter(LabelMapStoreWriter writer) {
        this.writer = writer;
        this.format = writer.format();
        if (format.scoreType() == DType.UINT8)
            throw new IllegalArgumentException("top-k maps have float16 or float32 scores, the store " + writer.output()
                    + " uint8 (convert after writing)");
        this.layout = format.layout();
        int entries = format.k() * format.height() * format.width();
        this.scoreBytes = entries * format.scoreType().size();
        this.idBytes = entries * format.indexType().size();
        this.record = ByteBuffer.allocateDirect((int) layout.recordSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Appends one record per key: image i's scores and ids are {@code maps.scores()[i]} and {@code maps.indices()[i]}
     * ({@code [B,k,H,W]} of this store's format and dtypes, B = keys.size()).
     */
    public void write(List<String> keys, TensorOps.TopKTensors maps) throws IOException {
        long[] want = {keys.size(), format.k(), format.height(), format.width()};
        long[] s = Tensors.shape(maps.scores()), i = Tensors.shape(maps.indices());
        if (!Arrays.equals(s, want) || !Arrays.equals(i, want) || Tensors.dtype(maps.scores()) != format.scoreType()
                || Tensors.dtype(maps.indices()) != format.indexType())
            throw new IllegalArgumentException("maps " + Tensors.dtypeName(maps.scores()) + Arrays.toString(s) + " / "
                    + Tensors.dtypeName(maps.indices()) + Arrays.toString(i) + " do not fit " + keys.size()
                    + " records of " + format);
        write(keys, Tensors.toNdArray(maps.scores()), Tensors.toNdArray(maps.indices()));
    }

    /** As {@link #write(List, TensorOps.TopKTensors)} for host arrays. */
    public void write(List<String> keys, NdArray scores, NdArray ids) throws IOException {
        ByteBuffer sb = scores.buffer(), ib = ids.buffer();
        if (sb.capacity() < (long) keys.size() * scoreBytes || ib.capacity() < (long) keys.size() * idBytes)
            throw new IllegalArgumentException("maps hold fewer than " + keys.size() + " records of " + format);
        int so = (int) layout.scoresOffset(), io = (int) layout.indicesOffset();
        for (int n = 0; n < keys.size(); ++n) {
            record.clear();  // padding stays zero: only the two parts are ever written
            record.put(so, sb, n * scoreBytes, scoreBytes);
            record.put(io, ib, n * idBytes, idBytes);
            writer.appendRecord(keys.get(n), record);
        }
        writer.flush();
    }
}
