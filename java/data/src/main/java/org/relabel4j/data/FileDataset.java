package org.relabel4j.data;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A dataset of one image file per sample under a root directory ({@link ImageFolder}, {@link ImageNetV2},
 * {@link ListFile}). Paths are held relative to the root in a compact table (about 5 bytes + the UTF-8 path per
 * sample, plus 4 bytes for a list file's labels); {@link #read} opens, reads and closes the file each time (no file
 * handles held), so instances need no closing and are safe for concurrent reads.
 */
public abstract class FileDataset implements Dataset {
    private final Path root;
    private final PathTable paths;
    private final List<String> classes;
    private final int[] classStarts;  // samples sorted by class: class c = [classStarts[c], classStarts[c + 1]); or null
    private final int[] labels;       // one label per sample when not sorted by class; or null

    FileDataset(Path root, PathTable paths, List<String> classes, int[] classStarts, int[] labels) {
        this.root = root;
        this.paths = paths;
        this.classes = List.copyOf(classes);
        this.classStarts = classStarts;
        this.labels = labels;
    }

    /** The directory the keys are relative to (absolute, normalized). */
    public Path root() {
        return root;
    }

    /** The file of sample {@code index}. */
    public Path file(int index) {
        return root.resolve(paths.path(index));
    }

    /** The class index of sample {@code index}. */
    public int label(int index) {
        Objects.checkIndex(index, size());
        if (labels != null) return labels[index];
        // the last class starting at or before index (empty classes repeat a start)
        int lo = 0, hi = classStarts.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (classStarts[mid] <= index) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    @Override
    public int size() {
        return paths.size();
    }

    @Override
    public Sample sample(int index) {
        Objects.checkIndex(index, size());
        return new Sample(index, paths.key(index), label(index), file(index).toString());
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public byte[] read(int index) throws IOException {
        Path file = file(index);
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DatasetException(file + ": no such file (sample " + index + ")", e);
        } catch (AccessDeniedException e) {
            throw new DatasetException(file + ": permission denied (sample " + index + ")", e);
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot read (sample " + index + "): " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            throw new DatasetException(file + ": too large to read into memory (sample " + index + ")", e);
        }
    }

    /** Throws when two samples share a key (e.g. {@code a/x.jpg} and {@code a/x.png}). */
    static void checkUniqueKeys(PathTable paths, Path root, String what) throws DatasetException {
        int[] dup = paths.findDuplicateKey();
        if (dup != null)
            throw new DatasetException(root + ": " + paths.path(dup[0]) + " and " + paths.path(dup[1]) + " have the same key '"
                    + paths.key(dup[0]) + "' (" + what + ")");
    }

    /** The class names "0", "1", ... "n-1". */
    static List<String> numberedClasses(int n) {
        String[] names = new String[n];
        for (int i = 0; i < n; i++) names[i] = Integer.toString(i);
        return List.of(names);
    }
}
