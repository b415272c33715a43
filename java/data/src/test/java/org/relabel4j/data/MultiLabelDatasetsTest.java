package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** multilist: and coco: specs on small hand-made files: label sets, category mapping, bad-input messages. */
class MultiLabelDatasetsTest {
    @TempDir
    Path tmp;

    @Test
    void multilistReadsLabelSets() throws IOException {
        Files.writeString(tmp.resolve("l.txt"), "# comment\na/x.jpg\t3,1,1\nb y.png\t\n\nc.jpg\t 0 \n");
        Dataset d = Datasets.open("multilist:" + tmp.resolve("l.txt"));
        MultiLabelDataset m = (MultiLabelDataset) d;
        assertEquals(3, d.size());
        assertEquals(List.of("0", "1", "2", "3"), d.classes());
        assertArrayEquals(new int[] {1, 3}, m.labelSet(0), "sorted, repeats once");
        assertArrayEquals(new int[] {}, m.labelSet(1), "an image without a class");
        assertArrayEquals(new int[] {0}, m.labelSet(2));
        assertEquals("a/x", d.sample(0).key());
        assertEquals(1, d.sample(0).label(), "the smallest id");
        assertArrayEquals(new float[] {0, 1, 0, 1, 0}, m.multiHot(0, 5));
        assertEquals(5, ((MultiLabelDataset) Datasets.open("multilist:" + tmp.resolve("l.txt"),
                List.of("a", "b", "c", "d", "e"))).classes().size());
    }

    @Test
    void multilistErrorsNameTheLine() throws IOException {
        String[][] bad = {
            {"a.jpg\t1\nb.jpg\t-2\n", "l.txt:2", "negative"},
            {"a.jpg\t1,x\n", "l.txt:1", "'x' is not an integer"},
            {"a.jpg 1\n", "l.txt:1", "no TAB"},
            {"a.jpg\t1\na.png\t2\n", "l.txt:2", "repeats line 1"},
            {"../a.jpg\t1\n", "l.txt:1", "not under"},
            {"# nothing\n", "l.txt", "no samples"},
        };
        for (String[] b : bad) {
            Files.writeString(tmp.resolve("l.txt"), b[0]);
            var e = assertThrows(DatasetException.class, () -> Datasets.open("multilist:" + tmp.resolve("l.txt")), b[0]);
            assertTrue(e.getMessage().contains(b[1]) && e.getMessage().contains(b[2]), e.getMessage());
        }
        Files.writeString(tmp.resolve("l.txt"), "a.jpg\t4\n");
        var e = assertThrows(DatasetException.class, () -> Datasets.open("multilist:" + tmp.resolve("l.txt"), List.of("a", "b")));
        assertTrue(e.getMessage().contains("not below the 2 classes"), e.getMessage());
    }

    static final String COCO = """
            {"images": [{"id": 7, "file_name": "b.jpg", "width": 4, "height": 2},
                        {"id": 3, "file_name": "a.jpg", "width": 4, "height": 2},
                        {"id": 9, "file_name": "c.jpg", "width": 4, "height": 2}],
             "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 18, "name": "dog"}],
             "annotations": [
               {"id": 1, "image_id": 7, "category_id": 90, "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]], "iscrowd": 0},
               {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 0},
               {"id": 3, "image_id": 3, "category_id": 18, "bbox": [0, 0, 4, 2],
                "segmentation": {"size": [2, 4], "counts": [0, 4, 4]}, "iscrowd": 1},
               {"id": 4, "image_id": 7, "category_id": 1, "bbox": [1, 1, 1, 1], "iscrowd": 0}]}
            """;

    Path coco(String json, String... images) throws IOException {
        Files.createDirectories(tmp.resolve("img"));
        for (String i : images) Files.write(tmp.resolve("img").resolve(i), new byte[] {1});
        return Files.writeString(tmp.resolve("instances.json"), json);
    }

    @Test
    void cocoMapsCategoriesInIdOrderAndKeepsOrDropsEmptyImages() throws IOException {
        Path json = coco(COCO, "a.jpg", "b.jpg", "c.jpg");
        CocoDataset d = (CocoDataset) Datasets.open("coco:" + tmp.resolve("img") + ":" + json);
        assertEquals(List.of("person", "dog", "toothbrush"), d.classes(), "category ids 1, 18, 90 -> 0, 1, 2");
        assertEquals(3, d.size());
        assertEquals("b", d.sample(0).key());
        assertArrayEquals(new int[] {0, 2}, d.labelSet(0), "b: person (twice) and toothbrush");
        assertArrayEquals(new int[] {1}, d.labelSet(1));
        assertArrayEquals(new int[] {}, d.labelSet(2), "c has no annotation: kept, empty");
        assertEquals(9, d.imageId(2));
        CocoDataset annotated = (CocoDataset) Datasets.open("coco:" + tmp.resolve("img") + ":" + json + ":annotated");
        assertEquals(2, annotated.size());
        CocoDataset full = CocoDataset.open(tmp.resolve("img"), json, false, true);
        assertEquals(3, full.annotations(0).size());
        assertTrue(full.annotations(1).get(0).crowd());
        assertEquals(null, full.annotations(0).get(1).segmentation(), "box only");
    }

    @Test
    void cocoErrorsNameTheEntry() throws IOException {
        String[][] bad = {
            {"{\"images\": [", "malformed JSON"},
            {"{\"images\": []}", "no 'categories' list"},
            {COCO.replace("\"category_id\": 18", "\"category_id\": 5"), "annotations[2]: unknown category_id 5"},
            {COCO.replace("\"image_id\": 3", "\"image_id\": 4"), "annotations[2]: unknown image_id 4"},
            {COCO.replace("\"id\": 9,", "\"id\": 7,"), "images[2]: image id 7 repeats"},
            {COCO.replace("\"file_name\": \"c.jpg\"", "\"file_name\": \"z.jpg\""), "images[2] (id 9): image"},
            {COCO.replace("\"image_id\": 7, \"category_id\": 90", "\"image_id\": \"7\", \"category_id\": 90"),
                "annotations[0]: 'image_id' is missing or not an integer"},
        };
        for (String[] b : bad) {
            Path json = coco(b[0], "a.jpg", "b.jpg", "c.jpg");
            var e = assertThrows(DatasetException.class, () -> Datasets.open("coco:" + tmp.resolve("img") + ":" + json), b[1]);
            assertTrue(e.getMessage().contains(b[1]) && e.getMessage().contains("instances.json"), e.getMessage());
        }
        var e = assertThrows(DatasetException.class, () -> Datasets.open("coco:" + tmp.resolve("img")));
        assertTrue(e.getMessage().contains("coco:IMAGES_DIR:INSTANCES.json"), e.getMessage());
    }
}
