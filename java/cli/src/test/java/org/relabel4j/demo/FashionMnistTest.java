package org.relabel4j.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IDX reader on hand-written files: values, gzip or not, and errors that name the file and the problem. */
class FashionMnistTest {
    @TempDir
    Path tmp;

    /** n images of rows x cols where pixel (x, y) of image i = (i * 7 + x + 3 * y) & 255, labels i % 10. */
    static void writeSplit(Path dir, String prefix, int n, int rows, int cols, boolean gzip) throws IOException {
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(img);
        d.writeInt(0x803);
        d.writeInt(n);
        d.writeInt(rows);
        d.writeInt(cols);
        for (int i = 0; i < n; ++i)
            for (int y = 0; y < rows; ++y)
                for (int x = 0; x < cols; ++x) d.writeByte((i * 7 + x + 3 * y) & 255);
        ByteArrayOutputStream lab = new ByteArrayOutputStream();
        d = new DataOutputStream(lab);
        d.writeInt(0x801);
        d.writeInt(n);
        for (int i = 0; i < n; ++i) d.writeByte(i % 10);
        write(dir.resolve(prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : "")), img.toByteArray(), gzip);
        write(dir.resolve(prefix + "-labels-idx1-ubyte" + (gzip ? ".gz" : "")), lab.toByteArray(), gzip);
    }

    static void write(Path f, byte[] bytes, boolean gzip) throws IOException {
        try (OutputStream out = gzip ? new GZIPOutputStream(Files.newOutputStream(f)) : Files.newOutputStream(f)) {
            out.write(bytes);
        }
    }

    @Test
    void readsGzippedAndPlainFiles() throws IOException {
        writeSplit(tmp, "train", 12, 28, 28, true);
        writeSplit(tmp, "t10k", 5, 28, 28, false);
        FashionMnist.Data d = FashionMnist.load(tmp);
        assertEquals(12, d.train().count());
        assertEquals(5, d.test().count());
        assertEquals("test", d.test().name());
        assertEquals(28, d.train().rows());
        for (int i : new int[] {0, 3, 11}) {
            assertEquals(i % 10, d.train().label(i));
            assertEquals((i * 7 + 5 + 3 * 9) & 255, d.train().ink(i, 5, 9));
        }
        assertEquals((4 * 7 + 27 + 3 * 27) & 255, d.test().ink(4, 27, 27));
    }

    @Test
    void missingDirectoryOrFileSaysHowToGetIt() throws IOException {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> FashionMnist.load(tmp.resolve("none")));
        assertTrue(e.getMessage().contains("none") && e.getMessage().contains("apt-get install dataset-fashion-mnist"),
                e.getMessage());
        writeSplit(tmp, "train", 2, 28, 28, true);
        e = assertThrows(NoSuchFileException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte.gz") && e.getMessage().contains("--fashion-mnist"),
                e.getMessage());
    }

    @Test
    void badFilesAreErrorsNamingTheFile() throws IOException {
        writeSplit(tmp, "train", 3, 28, 28, true);
        writeSplit(tmp, "t10k", 3, 28, 28, true);
        Path images = tmp.resolve("t10k-images-idx3-ubyte.gz"), labels = tmp.resolve("t10k-labels-idx1-ubyte.gz");
        byte[] good = Files.readAllBytes(images);

        // labels file in place of images: wrong magic
        Files.copy(labels, images, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains(images.toString()) && e.getMessage().contains("magic"), e.getMessage());

        // truncated pixels
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeInt(0x803);
        d.writeInt(3);
        d.writeInt(28);
        d.writeInt(28);
        d.write(new byte[100]);
        write(images, b.toByteArray(), true);
        e = assertThrows(IOException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains(images.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        // not gzip at all
        Files.write(images, "not gzip".getBytes());
        e = assertThrows(IOException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains(images.toString()), e.getMessage());

        // count mismatch, then a label out of range
        Files.write(images, good);
        Files.createDirectories(tmp.resolve("x"));
        writeSplit(tmp.resolve("x"), "t10k", 2, 28, 28, true);
        Files.copy(tmp.resolve("x/t10k-labels-idx1-ubyte.gz"), labels, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        e = assertThrows(IOException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains(labels.toString()) && e.getMessage().contains("2 labels for 3 images"),
                e.getMessage());
        b = new ByteArrayOutputStream();
        d = new DataOutputStream(b);
        d.writeInt(0x801);
        d.writeInt(3);
        d.write(new byte[] {1, 12, 2});
        write(labels, b.toByteArray(), true);
        e = assertThrows(IOException.class, () -> FashionMnist.load(tmp));
        assertTrue(e.getMessage().contains("label 12 of item 1"), e.getMessage());
    }
}
