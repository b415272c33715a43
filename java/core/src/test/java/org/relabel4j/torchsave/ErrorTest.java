package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.torchsave.TorchFiles.Pickle;

/** Each way a file can be wrong gives a TorchSaveException naming the file and the problem. */
class ErrorTest {
    @TempDir
    Path tmp;

    /** Loads {@code f}, expecting a failure whose message names the file and contains every {@code parts}. */
    private static TorchSaveException fails(Path f, String... parts) {
        TorchSaveException e = assertThrows(TorchSaveException.class, () -> TorchSave.load(f));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString() + ": "), "names the file: " + m);
        assertEquals(f, e.file());
        for (String p : parts) assertTrue(m.contains(p), "'" + p + "' in: " + m);
        return e;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    private Path zipWithPickle(byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Path f = tmp.resolve("hand.pt");
        TorchFiles.writeZip(f, "hand", pickle, storages);
        return f;
    }

    @Test
    void notTorchFiles() throws IOException {
        fails(write("empty.pt", new byte[0]), "not a torch.save file", "empty");
        fails(write("text.pt", "hello world\n".getBytes(StandardCharsets.US_ASCII)), "not a torch.save file",
                "68 65 6c 6c");
        fails(write("lorem.pt", "Lorem ipsum\n".getBytes(StandardCharsets.US_ASCII)),
                "not a torch.save file: no zip archive, and no pickle of torch's magic number", "bad integer literal");
        fails(write("pickle.pt", new byte[] {(byte) 0x80, 2, 'K'}), "not a torch.save file", "truncated");
        Path zip = tmp.resolve("other.zip");
        TorchFiles.writeEntries(zip, Map.of("readme.txt", new byte[] {1, 2}));
        fails(zip, "not a torch.save file", "without a '<name>/data.pkl' entry", "readme.txt");
        byte[] tar = new byte[1024];
        System.arraycopy("ustar".getBytes(StandardCharsets.US_ASCII), 0, tar, 257, 5);
        fails(write("old.tar", tar), "tar format of torch < 0.4 is not supported");
    }

    @Test
    void badMagic() throws IOException {
        byte[] b = Files.readAllBytes(TorchFiles.resource("state_dict_legacy.pt", tmp));
        b[6] ^= 0x10;  // inside the LONG1 of the magic number pickle
        fails(write("magic.pt", b), "not a torch.save file: bad magic number");
        // a plain pickle (of the int 5) is no torch file either
        fails(write("plain.pt", new Pickle().proto(2).integer(5).stop().bytes()), "bad magic number", "holds 5");
    }

    @Test
    void truncatedLegacyFile() throws IOException {
        byte[] b = Files.readAllBytes(TorchFiles.resource("state_dict_legacy.pt", tmp));
        fails(write("t1.pt", Arrays.copyOf(b, b.length - 3)), "truncated file: storage", "needs bytes up to");
        fails(write("t2.pt", Arrays.copyOf(b, 100)), "truncated: pickle 3 (system info) ends inside the opcode");
        fails(write("t3.pt", Arrays.copyOf(b, 600)), "truncated: pickle 4 (the saved object)");
        // the key list read, the first storage's element count cut
        Pickle p = new Pickle().proto(2);
        p.tensor(() -> p.legacyStorage("FloatStorage", "k", 2, null, 0, 0), 0, new long[] {2}, new long[] {1}).stop();
        Path f = tmp.resolve("t4.pt");
        TorchFiles.writeLegacy(f, p.bytes(), List.of("k"), List.of(TorchFiles.floats(1, 2)), List.of(2L));
        byte[] c = Files.readAllBytes(f);
        fails(write("t4.pt", Arrays.copyOf(c, c.length - 12)), "truncated file: the data of storage 'k'");
    }

    @Test
    void truncatedZipFile() throws IOException {
        byte[] b = Files.readAllBytes(TorchFiles.resource("state_dict_zip.pt", tmp));
        fails(write("z1.pt", Arrays.copyOf(b, b.length - 30)), "truncated or corrupt zip archive");
        fails(write("z2.pt", Arrays.copyOf(b, b.length / 2)), "truncated or corrupt zip archive");
    }

    @Test
    void zipMissingDataEntry() throws IOException {
        Path f = tmp.resolve("missing.pt");
        TorchFiles.rewriteZip(TorchFiles.resource("state_dict_zip.pt", tmp), f,
                (name, data) -> name.equals("state_dict_zip/data/3") ? null : data);
        fails(f, "missing data entry 'state_dict_zip/data/3' for storage key '3'");
    }

    @Test
    void corruptPickleOpcode() throws IOException {
        Path f = tmp.resolve("opcode.pt");
        TorchFiles.rewriteZip(TorchFiles.resource("state_dict_zip.pt", tmp), f, (name, data) -> {
            if (name.endsWith("data.pkl")) data[2] = (byte) 0xff;  // the GLOBAL after PROTO 2
            return data;
        });
        fails(f, "state_dict_zip/data.pkl, opcode at byte 2: unknown pickle opcode 0xff");
        fails(zipWithPickle(new Pickle().proto(2).op(0x82).raw(1).stop().bytes(), Map.of()), "unsupported opcode 0x82",
                "EXT1");
        fails(zipWithPickle(new Pickle().proto(2).stop().bytes(), Map.of()), "stack underflow");
        fails(zipWithPickle(new Pickle().proto(2).op('h').raw(5).stop().bytes(), Map.of()),
                "memo key 5 was never stored");
        fails(zipWithPickle(new Pickle().proto(9).none().stop().bytes(), Map.of()), "unsupported pickle protocol 9");
        fails(zipWithPickle(new Pickle().proto(2).op('}').op(']').none().op('s').stop().bytes(), Map.of()),
                "unhashable list");
        fails(zipWithPickle(new Pickle().proto(2).op('X').le(1000, 4).raw('a').stop().bytes(), Map.of()),
                "truncated", "runs past the end of the pickle");
        fails(zipWithPickle(new Pickle().proto(2).integer(1).integer(2).op('a').stop().bytes(), Map.of()),
                "APPEND to an int, not a list");
    }

    @Test
    void storageNumelMismatch() throws IOException {
        Path f = tmp.resolve("numel.pt");
        TorchFiles.rewriteZip(TorchFiles.resource("state_dict_zip.pt", tmp), f,
                (name, data) -> name.equals("state_dict_zip/data/0") ? Arrays.copyOf(data, data.length - 4) : data);
        fails(f, "storage numel mismatch: entry 'state_dict_zip/data/0' holds 44 bytes", "declares 12 elements");

        Pickle p = new Pickle().proto(2);
        p.tensor(() -> p.legacyStorage("FloatStorage", "k", 3, null, 0, 0), 0, new long[] {2}, new long[] {1}).stop();
        Path g = tmp.resolve("numel-legacy.pt");
        TorchFiles.writeLegacy(g, p.bytes(), List.of("k"), List.of(TorchFiles.floats(1, 2)), List.of(2L));
        fails(g, "storage numel mismatch: storage 'k' has 2 elements in the file, but the pickle declares 3");
    }

    @Test
    void viewOutOfStorageBounds() throws IOException {
        Pickle p = new Pickle().proto(2);
        p.tensor(() -> p.storage("FloatStorage", "0", 4), 2, new long[] {2, 2}, new long[] {1, 1}).stop();
        fails(zipWithPickle(p.bytes(), Map.of("0", TorchFiles.floats(1, 2, 3, 4))),
                "tensor view out of storage bounds", "reaches element 4", "storage '0' has 4 float32 elements");
        Pickle q = new Pickle().proto(2);
        q.tensor(() -> q.storage("FloatStorage", "0", 4), 0, new long[] {2}, new long[] {-1}).stop();
        fails(zipWithPickle(q.bytes(), Map.of("0", TorchFiles.floats(1, 2, 3, 4))), "negative stride");
        Pickle r = new Pickle().proto(2);
        r.tensor(() -> r.storage("FloatStorage", "0", 4), 0, new long[] {1L << 40, 1L << 40}, new long[] {0, 0}).stop();
        fails(zipWithPickle(r.bytes(), Map.of("0", TorchFiles.floats(1, 2, 3, 4))), "size overflows");
    }

    @Test
    void unsupportedFeatures() throws IOException {
        Pickle p = new Pickle().proto(2);
        p.tensor(() -> p.storage("ShortStorage", "0", 2), 0, new long[] {2}, new long[] {1}).stop();
        fails(zipWithPickle(p.bytes(), Map.of("0", new byte[4])), "unsupported dtype int16 (torch.ShortStorage)");
        Pickle q = new Pickle().proto(2).global("torch._utils", "_rebuild_qtensor").ints(1).reduce().stop();
        fails(zipWithPickle(q.bytes(), Map.of()), "unsupported tensor kind torch._utils._rebuild_qtensor",
                "quantized");
        Pickle r = new Pickle().proto(2).mark().str("module").none().tuple().op('Q').stop();
        fails(zipWithPickle(r.bytes(), Map.of()), "unsupported persistent id of kind 'module'");

        Path deflated = tmp.resolve("deflated.pt");
        try (OutputStream os = Files.newOutputStream(deflated); ZipOutputStream z = new ZipOutputStream(os)) {
            z.putNextEntry(new ZipEntry("d/data.pkl"));
            z.write(new Pickle().proto(2).none().stop().bytes());
            z.closeEntry();
        }
        fails(deflated, "zip entry 'd/data.pkl' is compressed (method 8)");
    }

    @Test
    void loadTensorNeedsOneTensor() throws IOException {
        Path f = zipWithPickle(new Pickle().proto(2).op(']').stop().bytes(), Map.of());
        TorchSaveException e = assertThrows(TorchSaveException.class, () -> TorchSave.loadTensor(f));
        assertTrue(e.getMessage().endsWith("holds a list, not a single tensor"), e.getMessage());
        e = assertThrows(TorchSaveException.class, () -> TorchSave.loadStateDict(f));
        assertTrue(e.getMessage().endsWith("holds a list, not a state dict"), e.getMessage());
    }
}
