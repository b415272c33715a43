package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Reads files written by PyTorch's {@code torch.save} in pure Java: no Python, no LibTorch, nothing executed.
 *
 * <p>Both formats are read: the zip archive of torch &gt;= 1.6 ({@code <name>/data.pkl} plus one stored entry per
 * storage, any size, zip64 included) and the legacy format ({@code _use_new_zipfile_serialization=False}, torch &lt;
 * 1.6: consecutive pickles followed by the raw storages). The pickle is evaluated by a small virtual machine that
 * knows the opcodes of protocols 0 to 5 (except extension codes and out-of-band buffers) and maps Python values to:
 * <ul>
 *   <li>{@code dict}, {@code OrderedDict}, {@code defaultdict}: {@code LinkedHashMap<Object, Object>} in insertion
 *       order (attributes set on a dict, such as a state dict's {@code _metadata}, are dropped);
 *   <li>{@code list}: {@code ArrayList<Object>}; {@code tuple} (and {@code torch.Size}): {@link PyTuple};
 *       {@code set}: {@code LinkedHashSet}, {@code frozenset}: an unmodifiable {@code Set};
 *   <li>{@code str}: {@code String}; {@code bytes}/{@code bytearray}: {@code byte[]}; {@code int}: {@code Long}, or
 *       {@code BigInteger} beyond 64 bits; {@code float}: {@code Double}; {@code bool}: {@code Boolean};
 *       {@code None}: {@code null};
 *   <li>a tensor or {@code nn.Parameter}: {@link TorchTensor} (data copied to a C-contiguous {@code NdArray});
 *   <li>an instance of any other class: a {@link PyObject} placeholder (class, arguments, state); a class or function
 *       itself (e.g. a {@code torch.float32} dtype): a {@link PyGlobal}; a bare storage saved without a tensor: an
 *       opaque object (its {@code toString} describes it).
 * </ul>
 *
 * <p>Element types: float32, float16, bfloat16, float64, int64, int32, uint8, bool (and uint16 from torch's
 * {@code _rebuild_tensor_v3}). int8, int16, complex and quantized storages, sparse/quantized/meta/nested tensors,
 * and single tensors over 2 GiB are rejected with a {@link TorchSaveException} saying so.
 *
 * <p>Every problem with a file (not a torch.save file, truncated, corrupt, unsupported) is a
 * {@link TorchSaveException} whose message names the file; sizes read from the file are checked against the file
 * before anything is allocated. Methods are thread-safe (they share nothing).
 */
public final class TorchSave {
    private TorchSave() {}

    /** Reads the object saved in {@code file} (see the class comment for what Python values become). */
    public static Object load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return load(file, ByteSource.open(file));
    }

    /** Reads a file's contents held in memory; {@code name} names it in messages (tests fuzz through this). */
    static Object load(Path name, byte[] contents) throws IOException {
        return load(name, ByteSource.of(contents));
    }

    private static Object load(Path file, ByteSource source) throws IOException {
        try (ByteSource src = source) {
            return new Loader(file, src).load();
        } catch (ByteSource.EndOfData e) {
            throw new TorchSaveException(file, "truncated file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // A corrupt file that slipped past the checks: still an IOException naming the file.
            throw new TorchSaveException(file, "malformed torch.save file (" + e + ")", e);
        }
    }

    /** Reads a file that holds exactly one tensor (as the ReLabel label maps do). */
    public static TorchTensor loadTensor(Path file) throws IOException {
        Object o = load(file);
        if (o instanceof TorchTensor t) return t;
        throw new TorchSaveException(file, "holds " + Values.aTypeOf(o) + ", not a single tensor");
    }

    /**
     * Reads a state dict: a file whose top-level object is a dict (usually the {@code OrderedDict} of
     * {@code model.state_dict()}). Returns its tensor values by key, in the file's order; entries whose key is not a
     * string or whose value is not a tensor (an {@code epoch} int, a nested dict such as optimizer state) are
     * skipped, and nothing is flattened: for a checkpoint like {@code {"epoch": 3, "state_dict": {...}}} use
     * {@link #load} and take the inner dict.
     */
    public static Map<String, TorchTensor> loadStateDict(Path file) throws IOException {
        Object o = load(file);
        if (!(o instanceof Map<?, ?> m))
            throw new TorchSaveException(file, "holds " + Values.aTypeOf(o) + ", not a state dict");
        Map<String, TorchTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (e.getKey() instanceof String k && e.getValue() instanceof TorchTensor t) out.put(k, t);
        }
        return out;
    }
}
