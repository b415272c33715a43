package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Pickle}: plain pickle files (pickle.dump), not torch.save archives. */
class PickleTest {
    @TempDir
    Path tmp;

    @Test
    void readsAPlainPickleFile() throws IOException {
        // {'a': [1, 'x'], 's': set(['w'])} at protocol 2, as CPython writes it (set via __builtin__.set(list)).
        byte[] pickle = new TorchFiles.Pickle().proto(2).op('}').mark()
                .str("a").op(']').mark().integer(1).str("x").op('e')
                .str("s").global("__builtin__", "set").op(']').str("w").op('a').op(0x85).reduce()
                .op('u').stop().raw('t', 'r', 'a', 'i', 'l').bytes();
        Path f = tmp.resolve("x.pickle");
        Files.write(f, pickle);
        Map<?, ?> m = assertInstanceOf(Map.class, Pickle.load(f));
        assertEquals(List.of(1L, "x"), m.get("a"));
        assertEquals(Set.of("w"), m.get("s"));
        assertEquals(m, Pickle.loads(pickle, "in memory"));
    }

    @Test
    void errorsNameTheFile() throws IOException {
        Path f = tmp.resolve("empty.pickle");
        Files.write(f, new byte[0]);
        TorchSaveException e = assertThrows(TorchSaveException.class, () -> Pickle.load(f));
        assertTrue(e.getMessage().startsWith(f + ": ") && e.getMessage().contains("empty"), e.getMessage());

        byte[] persistent = new TorchFiles.Pickle().proto(2).str("id").op('Q').stop().bytes();
        e = assertThrows(TorchSaveException.class, () -> Pickle.loads(persistent, "p.pkl"));
        assertTrue(e.getMessage().contains("persistent id"), e.getMessage());

        byte[] truncated = new TorchFiles.Pickle().proto(2).op(']').mark().integer(1).bytes();
        e = assertThrows(TorchSaveException.class, () -> Pickle.loads(truncated, "t.pkl"));
        assertTrue(e.getMessage().startsWith("t.pkl: ") && e.getMessage().contains("truncated"), e.getMessage());
    }
}
