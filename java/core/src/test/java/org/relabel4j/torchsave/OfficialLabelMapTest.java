package org.relabel4j.torchsave;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.Half;
import org.relabel4j.nd.NdArray;
import org.relabel4j.nd.Npy;
import org.relabel4j.testing.Fixtures;

/**
 * The released ReLabel label maps (fixtures official-pt/): every file of the three encodings decodes to the expected
 * scores and class ids, exactly.
 */
class OfficialLabelMapTest {
    private static Path root;
    private static List<String> stems;

    static Path root() {
        return Fixtures.root().resolve("official-pt");
    }

    /** Skips, saying why, when the fixtures are absent. */
    static void assumePresent() {
        org.relabel4j.testing.Required.present(Files.isRegularFile(root().resolve("meta.json")),
                "torch.save fixtures not found at " + root());
    }

    /** Per test, so that each one reports itself skipped when the fixtures are absent. */
    @BeforeEach
    void readMeta() throws IOException {
        assumePresent();
        if (stems != null) return;
        root = root();
        JsonNode files = new ObjectMapper().readTree(root.resolve("meta.json").toFile()).get("files");
        stems = new ArrayList<>();
        for (Iterator<String> it = files.fieldNames(); it.hasNext(); ) stems.add(it.next());
        assertFalse(stems.isEmpty(), "meta.json lists no files");
    }

    private static NdArray expected(String stem, String what) throws IOException {
        String base = stem.substring(stem.indexOf('/') + 1);
        return Npy.read(root.resolve("expected").resolve(base + "_" + what + ".npy"));
    }

    private static TorchTensor load(String encoding, String stem) throws IOException {
        TorchTensor t = TorchSave.loadTensor(root.resolve(encoding).resolve(stem + ".pt"));
        NdArray scores = expected(stem, "scores");
        long[] shape = {2, scores.shape(0), scores.shape(1), scores.shape(2)};
        assertArrayEquals(shape, t.shape(), stem);
        assertArrayEquals(shape, t.data().shape(), stem);
        assertFalse(t.requiresGrad());
        assertEquals("cpu", t.location());
        return t;
    }

    @Test
    void zipFilesDecodeExactly() throws IOException {
        for (String stem : stems) assertFloat32(load("relabel_imagenet", stem), stem);
    }

    @Test
    void legacyFilesDecodeExactly() throws IOException {
        for (String stem : stems) assertFloat32(load("legacy", stem), stem);
    }

    private static void assertFloat32(TorchTensor t, String stem) throws IOException {
        assertEquals(DType.FLOAT32, t.dtype(), stem);
        NdArray scores = expected(stem, "scores"), indices = expected(stem, "indices");
        long n = scores.numel();
        for (long i = 0; i < n; ++i) {
            float s = t.data().getFloat(i), c = t.data().getFloat(n + i);
            if (Float.floatToRawIntBits(s) != Float.floatToRawIntBits(scores.getFloat(i)))
                fail(stem + ": score " + i + " is " + s + ", expected " + scores.getFloat(i));
            if (c != indices.getLong(i))
                fail(stem + ": class id " + i + " is " + c + ", expected " + indices.getLong(i));
        }
    }

    /** The fp16 files hold the float32 scores rounded to half (ties to even) and the class ids exactly. */
    @Test
    void fp16FilesHoldTheRoundedScores() throws IOException {
        for (String stem : stems) {
            TorchTensor t = load("fp16", stem);
            assertEquals(DType.FLOAT16, t.dtype(), stem);
            NdArray scores = expected(stem, "scores"), indices = expected(stem, "indices");
            long n = scores.numel();
            java.nio.ByteBuffer b = t.data().buffer();
            for (long i = 0; i < n; ++i) {
                short bits = b.getShort((int) (2 * i));
                if (bits != Half.fromFloat(scores.getFloat(i)))
                    fail(stem + ": score " + i + " has bits " + Integer.toHexString(bits & 0xffff) + ", expected "
                            + Integer.toHexString(Half.fromFloat(scores.getFloat(i)) & 0xffff));
                float c = Half.toFloat(b.getShort((int) (2 * (n + i))));
                if (c != indices.getLong(i)) fail(stem + ": class id " + i + " is " + c);
            }
        }
    }

    /** The three encodings hold the same tensor (fp16 up to rounding, checked above). */
    @Test
    void zipAndLegacyAgreeByteForByte() throws IOException {
        for (String stem : stems) {
            assertEquals(load("relabel_imagenet", stem).data().buffer(), load("legacy", stem).data().buffer(), stem);
        }
    }
}
