package org.relabel4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;

/**
 * A training checkpoint in one file: named tensors (model parameters and buffers, optimizer state) and a JSON
 * state (config, epoch, step, metrics so far). Layout: magic {@code RLCKPT01}, u64 header length, the header JSON
 * (the state and, per tensor, its name, dtype, shape and offset), the tensors' little-endian bytes 64-byte
 * aligned, and a CRC32C of everything before it. Written to a temporary file, forced to disk and renamed into
 * place: a crash never leaves a half-written checkpoint; a damaged one fails its checksum on load.
 */
public final class Checkpoint {
    private static final byte[] MAGIC = "RLCKPT01".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {}

    /** A loaded checkpoint: host copies of its tensors, and its state JSON. */
    public record Loaded(Map<String, NdArray> tensors, JsonNode state) {}

    public static void save(Path file, Map<String, Tensor> tensors, JsonNode state) throws IOException {
        Map<String, NdArray> host = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) host.put(e.getKey(), Tensors.toNdArray(e.getValue()));
        ObjectNode header = JSON.createObjectNode();
        header.set("state", state);
        ArrayNode list = header.putArray("tensors");
        long offset = 0;
        for (Map.Entry<String, NdArray> e : host.entrySet()) {
            ObjectNode t = list.addObject();
            t.put("name", e.getKey()).put("dtype", e.getValue().dtype().name()).put("offset", offset)
                    .put("bytes", e.getValue().nbytes());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            offset = align(offset + e.getValue().nbytes());
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        long dataStart = align(MAGIC.length + 8 + headerBytes.length);
        Path absolute = file.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path tmp = Files.createTempFile(absolute.getParent(), "." + absolute.getFileName(), ".tmp");
        try {
            CRC32C crc = new CRC32C();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putLong(headerBytes.length).put(headerBytes).position((int) dataStart).flip();
                crc.update(head.duplicate());
                write(ch, head, 0);
                long at = dataStart;
                for (NdArray a : host.values()) {
                    ByteBuffer b = a.buffer();
                    crc.update(b.duplicate());
                    write(ch, b, at);
                    long padded = align(a.nbytes());
                    ByteBuffer pad = ByteBuffer.allocate((int) (padded - a.nbytes()));
                    crc.update(pad.duplicate());
                    write(ch, pad, at + a.nbytes());
                    at += padded;
                }
                ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue()).flip();
                write(ch, tail, at);
                ch.force(true);
            }
            Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Checks the magic and returns the JSON header's length (it starts at byte 16). */
    private static long headerLength(FileChannel ch, long size, Path file) throws IOException {
        if (size < MAGIC.length + 12) throw new IOException(file + ": not a checkpoint (too short)");
        ByteBuffer head = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        read(ch, head, 0);
        head.flip();
        byte[] magic = new byte[8];
        head.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new IOException(file + ": not a relabel4j checkpoint");
        long headerLength = head.getLong();
        if (headerLength < 2 || headerLength > size - 20) throw new IOException(file + ": truncated checkpoint header");
        return headerLength;
    }

    /** The state JSON alone (the configuration of a run to resume); {@link #load} verifies the whole file. */
    public static JsonNode readState(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long headerLength = headerLength(ch, size, file);
            ByteBuffer hb = ByteBuffer.allocate((int) headerLength);
            read(ch, hb, 16);
            JsonNode state;
            try {
                state = JSON.readTree(hb.array()).get("state");
            } catch (IOException e) {
                throw new IOException(file + ": damaged checkpoint header: " + e.getMessage(), e);
            }
            if (state == null || !state.isObject()) throw new IOException(file + ": checkpoint header without a state");
            return state;
        }
    }

    public static Loaded load(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long headerLength = headerLength(ch, size, file);
            // Checksum first: nothing of a damaged file is trusted.
            CRC32C crc = new CRC32C();
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            long at = 0;
            while (at < size - 4) {
                chunk.clear().limit((int) Math.min(chunk.capacity(), size - 4 - at));
                read(ch, chunk, at);
                chunk.flip();
                crc.update(chunk);
                at += chunk.limit();
            }
            ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, tail, size - 4);
            if (tail.flip().getInt() != (int) crc.getValue())
                throw new IOException(file + ": checkpoint checksum mismatch (the file is damaged or truncated)");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLength);
            read(ch, hb, 16);
            JsonNode header = JSON.readTree(hb.array());
            long dataStart = align(16 + headerLength);
            Map<String, NdArray> tensors = new LinkedHashMap<>();
            for (JsonNode t : header.get("tensors")) {
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; ++i) shape[i] = t.get("shape").get(i).asLong();
                NdArray a = NdArray.zeros(DType.valueOf(t.get("dtype").asText()), shape);
                if (a.nbytes() != t.get("bytes").asLong() || dataStart + t.get("offset").asLong() + a.nbytes() > size - 4)
                    throw new IOException(file + ": tensor '" + t.get("name").asText() + "' is inconsistent with the file");
                read(ch, a.buffer(), dataStart + t.get("offset").asLong());
                tensors.put(t.get("name").asText(), a);
            }
            return new Loaded(tensors, header.get("state"));
        }
    }

    private static long align(long v) {
        return (v + 63) / 64 * 64;
    }

    private static void write(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long p = position;
        while (b.hasRemaining()) p += ch.write(b, p);
    }

    private static void read(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long p = position;
        while (b.hasRemaining()) {
            int n = ch.read(b, p);
            if (n < 0) throw new IOException("unexpected end of file");
            p += n;
        }
    }
}
