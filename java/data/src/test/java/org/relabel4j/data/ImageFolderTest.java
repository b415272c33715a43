package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir
    Path tmp;

    /** Writes a file whose content is its own relative path (so reads can be checked). */
    static Path touch(Path root, String rel) throws IOException {
        Path f = root.resolve(rel);
        Files.createDirectories(f.getParent());
        Files.write(f, rel.getBytes(StandardCharsets.UTF_8));
        return f;
    }

    static List<String> keys(Dataset d) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) keys.add(d.sample(i).key());
        return keys;
    }

    static List<Integer> labels(Dataset d) {
        List<Integer> labels = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) labels.add(d.sample(i).label());
        return labels;
    }

    @Test
    void classesAreSortedDirectoriesAndSamplesSortByClassThenPath() throws IOException {
        Path root = tmp.resolve("train");
        touch(root, "n02/x1.JPEG");
        touch(root, "n02/x2.jpg");
        touch(root, "n02/sub/deep/y.PnG");
        touch(root, "n02/notes.txt");          // not an image
        touch(root, "n02/.hidden.jpg");        // hidden
        touch(root, "n02/noext");              // no extension
        touch(root, "n01/z.jpeg");
        touch(root, "n01/Z2.Jpg");             // 'Z' < 'z'
        touch(root, "n01/a.webp");
        touch(root, "n10/only.bmp");
        touch(root, ".ipynb_checkpoints/c.jpg"); // hidden directory: not a class
        touch(root, "readme.jpg");             // a file in the root: not in any class
        ImageFolder d = ImageFolder.open(root);
        assertEquals(List.of("n01", "n02", "n10"), d.classes());
        assertEquals(List.of("n01/Z2", "n01/a", "n01/z", "n02/sub/deep/y", "n02/x1", "n02/x2", "n10/only"), keys(d));
        assertEquals(List.of(0, 0, 0, 1, 1, 1, 2), labels(d));
        assertEquals(7, d.size());
        for (int i = 0; i < d.size(); i++) {
            Sample s = d.sample(i);
            assertEquals(i, s.index());
            assertEquals(i, d.sample(i).index());
            Path file = Path.of(s.origin());
            assertTrue(file.isAbsolute(), s.origin());
            assertTrue(file.getFileName().toString().startsWith(s.key().substring(s.key().lastIndexOf('/') + 1) + "."), s.origin());
            String rel = root.toAbsolutePath().relativize(file).toString().replace('\\', '/');
            assertArrayEquals(rel.getBytes(StandardCharsets.UTF_8), d.read(i), "bytes of " + rel);
            assertEquals(file, d.file(i));
            assertEquals(s.label(), d.label(i));
        }
        assertTrue(d.description().contains("7 samples") && d.description().contains("3 classes"), d.description());
        assertThrows(IndexOutOfBoundsException.class, () -> d.sample(7));
        assertThrows(IndexOutOfBoundsException.class, () -> d.read(-1));
    }

    @Test
    void namesSortByCodePointLikePython() throws IOException {
        Path root = tmp.resolve("r");
        for (String c : new String[] {"b", "B", "a", "ä", "_", "10", "9"}) touch(root, c + "/img.png");
        assertEquals(List.of("10", "9", "B", "_", "a", "b", "ä"), ImageFolder.open(root).classes());
    }

    @Test
    void explicitClassListSharesTrainIndices() throws IOException {
        Path train = tmp.resolve("train"), val = tmp.resolve("val");
        for (String c : new String[] {"cat", "dog", "emu", "fox"}) touch(train, c + "/t.jpg");
        touch(val, "emu/v1.JPEG");
        touch(val, "cat/v2.JPEG");
        ImageFolder t = ImageFolder.open(train);
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.open(val, t.classes()));
        assertTrue(e.getMessage().contains("dog (no directory)"), e.getMessage());
        ImageFolder v = ImageFolder.builder(val).classes(t.classes()).allowEmptyClasses(true).open();
        assertEquals(t.classes(), v.classes());
        assertEquals(List.of("cat/v2", "emu/v1"), keys(v));
        assertEquals(List.of(0, 2), labels(v));
        touch(val, "gnu/v3.JPEG");
        e = assertThrows(DatasetException.class, () -> ImageFolder.builder(val).classes(t.classes()).allowEmptyClasses(true).open());
        assertTrue(e.getMessage().contains("gnu") && e.getMessage().contains("not one of the 4 given classes"), e.getMessage());
    }

    @Test
    void emptyClassDirectoryIsAnErrorUnlessAllowed() throws IOException {
        Path root = tmp.resolve("r");
        touch(root, "a/1.jpg");
        Files.createDirectories(root.resolve("b"));
        touch(root, "b/readme.txt");
        touch(root, "c/2.jpg");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.open(root));
        assertTrue(e.getMessage().contains("without images: b"), e.getMessage());
        ImageFolder d = ImageFolder.builder(root).allowEmptyClasses(true).open();
        assertEquals(List.of("a", "b", "c"), d.classes());
        assertEquals(List.of(0, 2), labels(d));
    }

    @Test
    void twoFilesWithOneKeyAreAnError() throws IOException {
        Path root = tmp.resolve("r");
        touch(root, "a/x.jpg");
        touch(root, "a/x.png");
        touch(root, "a/x-1.jpg");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.open(root));
        assertTrue(e.getMessage().contains("a/x.jpg and a/x.png have the same key 'a/x'"), e.getMessage());
    }

    @Test
    void customExtensionsAndErrors() throws IOException {
        Path root = tmp.resolve("r");
        touch(root, "a/x.jpg");
        touch(root, "a/y.raw");
        assertEquals(List.of("a/y"), keys(ImageFolder.builder(root).extensions(java.util.Set.of(".RAW")).open()));
        assertThrows(DatasetException.class, () -> ImageFolder.open(tmp.resolve("missing")));
        assertThrows(DatasetException.class, () -> ImageFolder.open(root.resolve("a/x.jpg")));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThrows(DatasetException.class, () -> ImageFolder.open(empty));
    }

    @Test
    void followsSymbolicLinks() throws IOException {
        Path elsewhere = tmp.resolve("elsewhere");
        touch(elsewhere, "p.jpg");
        Path root = tmp.resolve("r");
        touch(root, "a/x.jpg");
        Files.createSymbolicLink(root.resolve("b"), elsewhere);
        Files.createSymbolicLink(root.resolve("a/linked.jpg"), elsewhere.resolve("p.jpg"));
        ImageFolder d = ImageFolder.open(root);
        assertEquals(List.of("a/linked", "a/x", "b/p"), keys(d));
        assertEquals("p.jpg", new String(d.read(0), StandardCharsets.UTF_8));
    }

    @Test
    void readNamesAMissingFile() throws IOException {
        Path root = tmp.resolve("r");
        Path f = touch(root, "a/x.jpg");
        touch(root, "a/y.jpg");
        ImageFolder d = ImageFolder.open(root);
        Files.delete(f);
        DatasetException e = assertThrows(DatasetException.class, () -> d.read(0));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("no such file"), e.getMessage());
        assertEquals("a/y.jpg", new String(d.read(1), StandardCharsets.UTF_8));
    }

    @Test
    void imageNetV2OrdersFoldersByNumber() throws IOException {
        Path root = tmp.resolve("v2");
        for (int c = 0; c <= 12; c++) {
            if (c == 5) continue;  // a missing class folder shifts nothing
            touch(root, c + "/h" + c + "a.jpeg");
            touch(root, c + "/h" + c + "b.jpeg");
        }
        ImageNetV2 d = ImageNetV2.open(root);
        assertEquals(13, d.classes().size());
        assertEquals("10", d.classes().get(10));
        assertEquals(24, d.size());
        for (int i = 0; i < d.size(); i++) {
            Sample s = d.sample(i);
            String folder = s.key().substring(0, s.key().indexOf('/'));
            assertEquals(Integer.parseInt(folder), s.label(), s.key());
        }
        assertEquals(List.of("0/h0a", "0/h0b", "1/h1a", "1/h1b", "2/h2a"), keys(d).subList(0, 5));
        assertEquals("10/h10a", d.sample(18).key());
        assertEquals(10, d.sample(18).label());
        assertTrue(d.description().startsWith("ImageNetV2 "), d.description());

        List<String> names = new ArrayList<>();
        for (int c = 0; c < 1000; c++) names.add("n" + c);
        ImageNetV2 named = ImageNetV2.open(root, names);
        assertEquals(1000, named.classes().size());
        assertEquals("n10", named.classes().get(named.sample(18).label()));
        assertThrows(DatasetException.class, () -> ImageNetV2.open(root, names.subList(0, 12)));
    }

    @Test
    void imageNetV2RefusesNamedOrRepeatedFolders() throws IOException {
        Path root = tmp.resolve("v2");
        touch(root, "0/a.jpeg");
        touch(root, "cat/b.jpeg");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageNetV2.open(root));
        assertTrue(e.getMessage().contains("'cat' is not"), e.getMessage());
        Path root2 = tmp.resolve("v2b");
        touch(root2, "7/a.jpeg");
        touch(root2, "07/b.jpeg");
        e = assertThrows(DatasetException.class, () -> ImageNetV2.open(root2));
        assertTrue(e.getMessage().contains("both class 7"), e.getMessage());
    }
}
