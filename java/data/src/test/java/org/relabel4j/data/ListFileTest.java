package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.data.ImageFolderTest.keys;
import static org.relabel4j.data.ImageFolderTest.labels;
import static org.relabel4j.data.ImageFolderTest.touch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListFileTest {
    @TempDir
    Path tmp;

    private Path list(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void parsesPathsLabelsCommentsAndBlankLines() throws IOException {
        Path root = tmp.resolve("data");
        touch(root, "train/n01/a.JPEG");
        touch(root, "train/n02/b c.png");
        Path abs = touch(root, "val/v1.jpg");
        Path f = list("data/train.txt", "# ImageNet subset\n\ntrain/n01/a.JPEG\t0\r\n  \n"
                + "./train/n02/b c.png \t 7\n" + abs + "\t3\n# the end\n");
        ListFile d = ListFile.open(f);
        assertEquals(List.of("train/n01/a", "train/n02/b c", "val/v1"), keys(d));
        assertEquals(List.of(0, 7, 3), labels(d));
        assertEquals(8, d.classes().size());
        assertEquals("7", d.classes().get(7));
        assertEquals(root.toAbsolutePath(), d.root());
        assertArrayEquals("train/n02/b c.png".getBytes(StandardCharsets.UTF_8), d.read(1));
        assertEquals(abs.toAbsolutePath().toString(), d.sample(2).origin());
        assertTrue(d.description().contains("3 samples"), d.description());

        ListFile named = ListFile.builder(f).classes(List.of("a", "b", "c", "d", "e", "f", "g", "h", "i")).open();
        assertEquals(9, named.classes().size());
    }

    @Test
    void errorsNameTheFileAndLine() throws IOException {
        Object[][] cases = {
            {"a.jpg\t1\nb.jpg 2\n", 2, "no TAB"},
            {"a.jpg\t1\n\n# x\nb.jpg\tdog\n", 4, "'dog' is not an integer"},
            {"a.jpg\t-1\n", 1, "negative"},
            {"a.jpg\t1.5\n", 1, "not an integer"},
            {"\t3\n", 1, "empty path"},
            {"../outside.jpg\t1\n", 1, "is not under"},
            {"/elsewhere/x.jpg\t1\n", 1, "is not under"},
            {"a.jpg\t1\nsub/../a.png\t2\n", 2, "key 'a' repeats line 1"},
        };
        for (Object[] c : cases) {
            Path f = list("lists/l.txt", (String) c[0]);
            DatasetException e = assertThrows(DatasetException.class, () -> ListFile.open(f), (String) c[0]);
            assertTrue(e.getMessage().startsWith(f.toAbsolutePath() + ":" + c[1] + ": "), e.getMessage());
            assertTrue(e.getMessage().contains((String) c[2]), e.getMessage());
        }
        Path f = list("lists/l.txt", "a.jpg\t5\n");
        DatasetException e = assertThrows(DatasetException.class, () -> ListFile.builder(f).classes(List.of("x", "y")).open());
        assertTrue(e.getMessage().contains(":1: label 5 is not below the 2 classes"), e.getMessage());
        Path bad = tmp.resolve("lists/latin1.txt");
        Files.write(bad, new byte[] {'a', '\t', '1', '\n', 'b', (byte) 0xE9, '.', 'j', 'p', 'g', '\t', '2', '\n'});
        e = assertThrows(DatasetException.class, () -> ListFile.open(bad));
        assertTrue(e.getMessage().contains(":2: not UTF-8"), e.getMessage());
        assertThrows(DatasetException.class, () -> ListFile.open(list("lists/empty.txt", "# nothing\n")));
        assertThrows(DatasetException.class, () -> ListFile.open(tmp.resolve("lists/missing.txt")));
    }

    @Test
    void keyRootMakesKeysRelativeToAnotherDirectory() throws IOException {
        Path imagenet = tmp.resolve("imagenet");
        touch(imagenet, "train/n01/a.JPEG");
        Path f = list("lists/train.tsv", imagenet.resolve("train/n01/a.JPEG") + "\t0\n");
        assertThrows(DatasetException.class, () -> ListFile.open(f));
        ListFile d = ListFile.builder(f).keyRoot(imagenet.resolve("train")).open();
        assertEquals(List.of("n01/a"), keys(d));
        assertArrayEquals("train/n01/a.JPEG".getBytes(StandardCharsets.UTF_8), d.read(0));
    }

    @Test
    void filesAreCheckedWhenRead() throws IOException {
        Path f = list("l.txt", "gone.jpg\t0\n");
        ListFile d = ListFile.open(f);
        DatasetException e = assertThrows(DatasetException.class, () -> d.read(0));
        assertTrue(e.getMessage().contains("gone.jpg") && e.getMessage().contains("no such file"), e.getMessage());
    }
}
