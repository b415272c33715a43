package org.relabel4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * ImageNetV2's layout (Recht et al. 2019): {@code root/<i>/<hash>.jpeg} where the folder name {@code i} is the
 * class index itself, {@code 0} to {@code 999}: folders are ordered by number, not by name ({@code 10} is class 10,
 * where torchvision's ImageFolder would make it class 2). Keys are the paths relative to the root without the
 * extension ({@code 10/4f2f...}); images are found, ordered and checked as in {@link ImageFolder}. A class
 * folder may be missing or empty (indices do not shift). Every non-hidden sub-directory must be a decimal number.
 */
public final class ImageNetV2 extends FileDataset {
    private ImageNetV2(Path root, ImageFolder.Scan scan, List<String> classes) {
        super(root, scan.paths(), classes, scan.classStarts(), null);
    }

    /** Opens {@code root}; class names are the folder numbers "0", "1", ... up to the largest folder. */
    public static ImageNetV2 open(Path root) throws IOException {
        return open(root, null);
    }

    /**
     * Opens {@code root} with these class names for folders 0, 1, ... (e.g. the ImageNet wnids, so that names
     * match the training set's); the list must cover the largest folder number.
     */
    public static ImageNetV2 open(Path root, List<String> classNames) throws IOException {
        Path dir = root.toAbsolutePath().normalize();
        ImageFolder.requireDirectory(dir);
        List<String> names = ImageFolder.classDirectories(dir);
        int max = -1;
        List<Integer> numbers = new ArrayList<>(names.size());
        for (String name : names) {
            int n = classNumber(name);
            if (n < 0)
                throw new DatasetException(dir.resolve(name) + ": ImageNetV2 class folders are numbers 0, 1, ...; '" + name
                        + "' is not (use an ImageFolder for named classes)");
            numbers.add(n);
            max = Math.max(max, n);
        }
        if (max < 0) throw new DatasetException(dir + ": no class folders (expected root/0, root/1, ...)");
        int classCount = max + 1;
        if (classNames != null) {
            if (classNames.size() < classCount)
                throw new DatasetException(dir + ": folder " + max + " needs at least " + classCount + " class names, "
                        + classNames.size() + " given");
            classCount = classNames.size();
        }
        List<Path> dirs = new ArrayList<>(Collections.nCopies(classCount, (Path) null));
        for (int i = 0; i < names.size(); i++) {
            int n = numbers.get(i);
            if (dirs.get(n) != null)
                throw new DatasetException(dir + ": folders " + dirs.get(n).getFileName() + " and " + names.get(i)
                        + " are both class " + n);
            dirs.set(n, dir.resolve(names.get(i)));
        }
        List<String> classes = classNames != null ? List.copyOf(classNames) : FileDataset.numberedClasses(classCount);
        return new ImageNetV2(dir, ImageFolder.scan(dir, classes, dirs, ImageFolder.DEFAULT_EXTENSIONS, true), classes);
    }

    /** The class number of a folder name of ASCII digits (at most 9), or -1. */
    static int classNumber(String name) {
        if (name.isEmpty() || name.length() > 9) return -1;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < '0' || c > '9') return -1;
        }
        return Integer.parseInt(name);
    }

    @Override
    public String description() {
        return "ImageNetV2 " + root() + ": " + size() + " samples, " + classes().size() + " classes";
    }
}
