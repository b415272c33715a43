package org.relabel4j.demo;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test grayscale 28x28 product photos of 10 classes, read
 * from the four IDX files as distributed ({@code train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz},
 * {@code t10k-images-idx3-ubyte.gz}, {@code t10k-labels-idx1-ubyte.gz}; gzipped or not). Debian's
 * {@code dataset-fashion-mnist} package installs them in {@link #DEBIAN_DIR}. Pixels are ink intensities (0 =
 * background, 255 = full ink), as in the files.
 */
public final class FashionMnist {
    /** Where Debian's {@code dataset-fashion-mnist} installs the files. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    /** The class names, index = label (Xiao et al.'s table). */
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** Folder-safe names that sort in label order (an ImageFolder's classes are its sorted sub-directories). */
    public static final List<String> FOLDERS = List.of("0_tshirt_top", "1_trouser", "2_pullover", "3_dress", "4_coat",
            "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_ankle_boot");

    private FashionMnist() {}

    /** One split: {@code count} images of {@code rows x cols} bytes, row-major, and their labels (0-9). */
    public record Split(String name, int count, int rows, int cols, byte[] pixels, byte[] labels) {
        public int label(int i) {
            return labels[i];
        }

        /** Ink of pixel (x, y) of image i, 0-255. */
        public int ink(int i, int x, int y) {
            return pixels[(i * rows + y) * cols + x] & 255;
        }
    }

    /** Both splits of a copy in {@code dir}. */
    public record Data(Path dir, Split train, Split test) {}

    /**
     * Reads the four files from {@code dir}. Errors name the file and what is wrong (missing, not IDX, wrong magic,
     * count mismatch between images and labels, truncated, label out of range).
     */
    public static Data load(Path dir) throws IOException {
        if (!Files.isDirectory(dir))
            throw new NoSuchFileException(dir.toString(), null, "no Fashion-MNIST directory (" + howToGet() + ")");
        return new Data(dir, split(dir, "train"), split(dir, "t10k"));
    }

    /** What to do when the files are missing. */
    public static String howToGet() {
        return "on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist (installs " + DEBIAN_DIR + "); elsewhere: "
                + "download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into a "
                + "directory and pass --fashion-mnist DIR";
    }

    private static Split split(Path dir, String prefix) throws IOException {
        Path images = file(dir, prefix + "-images-idx3-ubyte");
        Path labels = file(dir, prefix + "-labels-idx1-ubyte");
        byte[] px;
        int n, rows, cols;
        try (DataInputStream in = open(images)) {
            int magic = in.readInt();
            if (magic != 0x00000803)
                throw new IOException(images + ": not an IDX image file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x803)");
            n = in.readInt();
            rows = in.readInt();
            cols = in.readInt();
            if (n <= 0 || rows <= 0 || cols <= 0 || (long) n * rows * cols > Integer.MAX_VALUE)
                throw new IOException(images + ": bad dimensions " + n + " x " + rows + " x " + cols);
            px = new byte[n * rows * cols];
            in.readFully(px);
        } catch (EOFException e) {
            throw new IOException(images + ": truncated (fewer pixels than its header's dimensions)", e);
        } catch (ZipException e) {
            throw new IOException(images + ": corrupt gzip data: " + e.getMessage(), e);
        }
        byte[] lab;
        try (DataInputStream in = open(labels)) {
            int magic = in.readInt();
            if (magic != 0x00000801)
                throw new IOException(labels + ": not an IDX label file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x801)");
            int m = in.readInt();
            if (m != n) throw new IOException(labels + ": " + m + " labels for " + n + " images in " + images);
            lab = new byte[m];
            in.readFully(lab);
        } catch (EOFException e) {
            throw new IOException(labels + ": truncated (fewer labels than its header's count)", e);
        } catch (ZipException e) {
            throw new IOException(labels + ": corrupt gzip data: " + e.getMessage(), e);
        }
        for (int i = 0; i < lab.length; ++i)
            if (lab[i] < 0 || lab[i] >= CLASSES.size())
                throw new IOException(labels + ": label " + lab[i] + " of item " + i + " is not in 0-9");
        return new Split(prefix.equals("t10k") ? "test" : "train", n, rows, cols, px, lab);
    }

    private static Path file(Path dir, String base) throws NoSuchFileException {
        for (String name : new String[] {base + ".gz", base})
            if (Files.isRegularFile(dir.resolve(name))) return dir.resolve(name);
        throw new NoSuchFileException(dir.resolve(base + ".gz").toString(), null,
                "missing Fashion-MNIST file (" + howToGet() + ")");
    }

    private static DataInputStream open(Path f) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(f), 1 << 16);
        if (f.getFileName().toString().endsWith(".gz")) in = new GZIPInputStream(in, 1 << 16);
        return new DataInputStream(in);
    }
}
