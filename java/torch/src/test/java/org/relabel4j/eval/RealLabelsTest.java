package org.relabel4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ReaL accuracy on hand-built labels: file-name alignment, empty lists, count and name mismatches. */
class RealLabelsTest {
    @TempDir
    Path tmp;

    static String val(int i) {
        return String.format("ILSVRC2012_val_%08d", i);
    }

    /**
     * Six validation images in ImageFolder order (by class folder, then name), which is not file-name order:
     * dataset index -> image number 3, 5, 1, 6, 2, 4.
     */
    static final int[] NUMBER = {3, 5, 1, 6, 2, 4};
    static final int[] LABEL = {0, 0, 1, 1, 2, 2};

    static Predictions.Builder valSet() {
        List<String> keys = new ArrayList<>(), names = new ArrayList<>();
        for (int i = 0; i < NUMBER.length; ++i) {
            keys.add("n0" + LABEL[i] + "/" + val(NUMBER[i]));
            names.add(val(NUMBER[i]) + ".JPEG");
        }
        return Predictions.builder(keys, names, LABEL, 5);
    }

    /** real.json's lists, by image number 1..6. */
    static RealLabels labels() {
        return RealLabels.of(List.of(
                new int[] {1},        // image 1
                new int[] {},         // image 2: no valid label -> left out
                new int[] {0, 7},     // image 3
                new int[] {2},        // image 4
                new int[] {},         // image 5: left out
                new int[] {1, 4}),    // image 6
                "real.json");
    }

    @Test
    void alignsBySortedFileName() {
        int[] rank = labels().align(valSet().build());
        assertArrayEquals(new int[] {2, 4, 0, 5, 1, 3}, rank);  // number - 1
    }

    @Test
    void emptyListsAreLeftOutAndTheTopOneMustBeInTheList() {
        Predictions p = valSet()
                .set(0, 7, 0, 1, 2, 3)    // image 3 {0,7}: top-1 7 in list
                .set(1, 9, 9, 9, 9, 9)    // image 5 {}: left out whatever it predicts
                .set(2, 0, 2, 3, 4, 1)    // image 1 {1}: top-1 wrong, top-5 right
                .set(3, 4, 1, 2, 3, 5)    // image 6 {1,4}: right
                .set(4, 2, 2, 2, 2, 2)    // image 2 {}: left out (would be right by its original label)
                .set(5, 5, 6, 8, 9, 0)    // image 4 {2}: wrong, not in top-5 either
                .build();
        RealLabels.Result r = labels().evaluate(p);
        assertEquals(6, r.lists());
        assertEquals(2, r.emptyLists());
        assertEquals(4, r.n());
        assertEquals(2, r.top1Correct());
        assertEquals(3, r.top5Correct());
        assertEquals(0.5, r.top1());
        assertEquals(0.75, r.top5());
        assertEquals(0, r.notEvaluated());
        // Original labels for comparison: only image 2 (index 4, label 2) is top-1 right.
        assertEquals(1, Metrics.accuracy(p).top1Correct());
    }

    @Test
    void imagesNotEvaluatedAreCountedApart() {
        Predictions p = valSet().set(0, 0, 1, 2, 3, 4).set(1, 0, 1, 2, 3, 4).set(2, 1, 0, 2, 3, 4)
                .skip(3, "unreadable").set(4, 0, 1, 2, 3, 4).skip(5, "unreadable").build();
        RealLabels.Result r = labels().evaluate(p);
        assertEquals(2, r.notEvaluated());  // images 6 and 4 have labels but no predictions
        assertEquals(2, r.n());             // images 3 and 1
        assertEquals(2, r.top1Correct());
    }

    @Test
    void listCountMustMatchTheDataset() {
        List<int[]> five = new ArrayList<>();
        for (int i = 0; i < 5; ++i) five.add(new int[] {0});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RealLabels.of(five, "real.json").evaluate(valSet().build()));
        assertTrue(e.getMessage().contains("5 label lists") && e.getMessage().contains("6 images"), e.getMessage());
    }

    @Test
    void validationNamesMustBeNumberedFromOne() {
        List<String> keys = List.of("a/" + val(1), "a/" + val(2), "a/" + val(4));
        List<String> names = List.of(val(1) + ".JPEG", val(2) + ".JPEG", val(4) + ".JPEG");
        Predictions p = Predictions.builder(keys, names, new int[3], 1).build();
        RealLabels three = RealLabels.of(List.of(new int[] {0}, new int[] {0}, new int[] {0}), "real.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> three.evaluate(p));
        assertTrue(e.getMessage().contains(val(4)) && e.getMessage().contains("number 3"), e.getMessage());
    }

    @Test
    void otherNamesAlignByCodePointOrderAndMustBeUnique() {
        // '-' sorts before '.', so "a-b.jpg" comes before "a.jpg" by file name (not by stem).
        Predictions p = Predictions.builder(List.of("x/a", "x/a-b", "y/B"), List.of("a.jpg", "a-b.jpg", "B.jpg"),
                new int[] {0, 0, 1}, 1).set(0, 5).set(1, 6).set(2, 7).build();
        RealLabels l = RealLabels.of(List.of(new int[] {7}, new int[] {6}, new int[] {5}), "r.json");
        assertArrayEquals(new int[] {2, 1, 0}, l.align(p));  // "B.jpg" < "a-b.jpg" < "a.jpg"
        assertEquals(3, l.evaluate(p).top1Correct());

        Predictions dup = Predictions.builder(List.of("x/a", "y/a"), List.of("a.jpg", "a.jpg"), new int[2], 1).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RealLabels.of(List.of(new int[0], new int[0]), "r.json").align(dup));
        assertTrue(e.getMessage().contains("two images are named a.jpg"), e.getMessage());
    }

    @Test
    void readsRealJson() throws IOException {
        Path f = tmp.resolve("real.json");
        Files.writeString(f, "[[1], [], [0, 7], [2], [], [1, 4]]");
        RealLabels l = RealLabels.load(f);
        assertEquals(6, l.size());
        assertEquals(2, l.emptyLists());
        assertArrayEquals(new int[] {0, 7}, l.labels(2));

        Files.writeString(f, "{\"a\": 1}");
        IOException e = assertThrows(IOException.class, () -> RealLabels.load(f));
        assertTrue(e.getMessage().contains("expected a JSON list"), e.getMessage());
        Files.writeString(f, "[[1], [\"n01440764\"]]");
        e = assertThrows(IOException.class, () -> RealLabels.load(f));
        assertTrue(e.getMessage().contains("entry 1"), e.getMessage());
        Files.writeString(f, "[[1], [-3]]");
        assertThrows(IOException.class, () -> RealLabels.load(f));
        Files.writeString(f, "[[1], 2]");
        assertThrows(IOException.class, () -> RealLabels.load(f));
        Files.writeString(f, "[[1], [2.5]]");
        assertThrows(IOException.class, () -> RealLabels.load(f));
        Files.writeString(f, "[[1], [2]");
        e = assertThrows(IOException.class, () -> RealLabels.load(f));
        assertTrue(e.getMessage().contains("real.json"), e.getMessage());
        assertThrows(IOException.class, () -> RealLabels.load(tmp.resolve("missing.json")));
    }
}
