package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Reads a plain Python pickle file (what {@code pickle.dump} writes, protocols 0 to 5 without out-of-band buffers)
 * with the same virtual machine as {@link TorchSave}: nothing is executed, and Python values become the Java values
 * listed there ({@code dict} a {@code LinkedHashMap}, {@code set} a {@code LinkedHashSet}, an instance of an unknown
 * class a {@link PyObject} placeholder, ...). Persistent ids (which only torch.save writes) are rejected. The first
 * pickle of the file is read; anything after its STOP is ignored, as Python's {@code pickle.load} does.
 *
 * <p>Every problem (empty, truncated or corrupt file, an unsupported opcode) is a {@link TorchSaveException} naming
 * the file.
 */
public final class Pickle {
    private Pickle() {}

    /** Reads the object pickled in {@code file}. */
    public static Object load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return load(file, ByteSource.open(file));
    }

    /** Reads a pickle held in memory ({@code pickle.dumps}'s bytes); {@code name} names it in messages. */
    public static Object loads(byte[] pickle, String name) throws IOException {
        Objects.requireNonNull(pickle, "pickle");
        return load(Path.of(name), ByteSource.of(pickle));
    }

    private static Object load(Path file, ByteSource source) throws IOException {
        try (ByteSource src = source) {
            if (src.size() == 0) throw new TorchSaveException(file, "not a pickle: the file is empty");
            Loader loader = new Loader(file, src);
            return new Unpickler(new PickleInput(src, 0, src.size()), loader, "pickle", 0).load();
        } catch (ByteSource.EndOfData e) {
            throw new TorchSaveException(file, "truncated pickle: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new TorchSaveException(file, "malformed pickle (" + e + ")", e);
        }
    }
}
