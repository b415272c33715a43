package org.relabel4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.store.LabelMap;
import org.relabel4j.store.LabelMapStore;

/** {@code relabel annotate --oracle coco:...}: the store's maps hold the covered fractions; bad input is exit 2. */
class OracleAnnotateCliTest {
    @TempDir
    Path tmp;

    static final String JSON = """
            {"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 4},
                        {"id": 2, "file_name": "b.jpg", "width": 8, "height": 4}],
             "categories": [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}],
             "annotations": [
               {"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 4, 4], "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]},
               {"id": 2, "image_id": 1, "category_id": 3, "bbox": [4, 0, 2, 2]},
               {"id": 3, "image_id": 2, "category_id": 3, "bbox": [0, 0, 8, 4], "iscrowd": 1,
                "segmentation": {"size": [4, 8], "counts": "0P1"}}]}
            """;

    @Test
    void oracleMapsAreTheCoveredFractions() throws IOException {
        Path img = Files.createDirectories(tmp.resolve("img"));
        Files.write(img.resolve("a.jpg"), new byte[] {1});
        Files.write(img.resolve("b.jpg"), new byte[] {1});
        Path json = Files.writeString(tmp.resolve("inst.json"), JSON);
        Path out = tmp.resolve("oracle.rlm");
        EvalCliTest.Run r = EvalCliTest.relabel("annotate", "--oracle", "coco:" + img + ":" + json, "--out", out.toString(),
                "--map-size", "2", "--k", "2", "--score-dtype", "fp32");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("oracle maps of 2 images, 3 instances"), r.out());
        try (LabelMapStore s = LabelMapStore.open(out)) {
            assertEquals(2, s.format().classes());
            LabelMap a = s.map(s.require("a"));
            // a: dog (class 1) covers the left half; cat (class 0) the box x 4..6, y 0..2 = a quarter of cell (0, 1)
            assertEquals(1, a.id(0, 0, 0));
            assertEquals(1f, a.score(0, 0, 0));
            assertEquals(0f, a.score(1, 0, 0));
            assertEquals(0, a.id(0, 0, 1));
            assertEquals(0.5f, a.score(0, 0, 1), "2 x 2 of the cell's 4 x 2 pixels");
            assertEquals(0f, a.score(0, 1, 1));
            // b: RLE "0P1" = runs [0, 32]: the whole image is cat
            LabelMap b = s.map(s.require("b"));
            for (int y = 0; y < 2; ++y)
                for (int x = 0; x < 2; ++x) {
                    assertEquals(0, b.id(0, y, x));
                    assertEquals(1f, b.score(0, y, x));
                }
            assertTrue(s.metadataJson().contains("oracle"), s.metadataJson());
        }
    }

    @Test
    void badInputIsExit2AndLeavesNoStore() throws IOException {
        Path img = Files.createDirectories(tmp.resolve("img"));
        Files.write(img.resolve("a.jpg"), new byte[] {1});
        Files.write(img.resolve("b.jpg"), new byte[] {1});
        Path json = Files.writeString(tmp.resolve("inst.json"), JSON.replace("\"counts\": \"0P1\"", "\"counts\": [0, 40]"));
        Path out = tmp.resolve("oracle.rlm");
        EvalCliTest.Run r = EvalCliTest.relabel("annotate", "--oracle", "coco:" + img + ":" + json, "--out", out.toString(),
                "--map-size", "2");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("image 2") && r.err().contains("runs past 32"), r.err());
        assertFalse(Files.exists(out), "no half-written store");
        r = EvalCliTest.relabel("annotate", "--oracle", "coco:" + img + ":" + json, "--out", out.toString(), "--model", "x");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no --data, --model"), r.err());
        r = EvalCliTest.relabel("annotate", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--data"), r.err());
    }
}
