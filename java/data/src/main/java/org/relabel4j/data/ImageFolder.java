package org.relabel4j.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * torchvision's {@code ImageFolder} layout: {@code root/<class>/**&#47;<image>}, e.g. ImageNet's
 * {@code train/n01440764/n01440764_10026.JPEG}.
 *
 * <ul>
 *   <li>Classes: the sub-directories of the root sorted by name (Unicode code point order, like Python's
 *       {@code sorted()}); class index = position. Or an explicit class list ({@link Builder#classes}), e.g.
 *       train's classes for val: then every sub-directory must be in the list. Hidden entries (names starting with
 *       '.') are skipped everywhere (torchvision would count a {@code .ipynb_checkpoints} directory as a class).</li>
 *   <li>Images: regular files at any depth under a class directory (symbolic links followed) whose extension, in
 *       any case, is one of torchvision's {@code IMG_EXTENSIONS} ({@link #DEFAULT_EXTENSIONS}); other files are
 *       ignored.</li>
 *   <li>Order: by class, then by relative path (code point order). torchvision walks directory by directory, which
 *       differs only where a file name sorts between a directory name and that name + '/'.</li>
 *   <li>Keys: the path relative to the root without the extension, '/'-separated
 *       ({@code n01440764/n01440764_10026}); two files with one key are an error.</li>
 *   <li>A class directory without images is an error (as in torchvision: it would shift later class indices)
 *       unless {@link Builder#allowEmptyClasses}; with an explicit list, so is a listed class without a
 *       directory.</li>
 * </ul>
 *
 * <p>Memory: about 5 bytes + the UTF-8 relative path per sample (~35 bytes for ImageNet train: 45 MB for 1.28 M
 * images); labels come from per-class ranges.
 */
public final class ImageFolder extends FileDataset {
    /** torchvision's IMG_EXTENSIONS, lower case without the dot; matched case-insensitively. */
    public static final Set<String> DEFAULT_EXTENSIONS =
            Set.of("jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp");

    private ImageFolder(Path root, Scan scan, List<String> classes) {
        super(root, scan.paths(), classes, scan.classStarts(), null);
    }

    /** Samples found under class directories: paths sorted by class then path; class c = [starts[c], starts[c+1]). */
    record Scan(PathTable paths, int[] classStarts) {}

    /** Opens {@code root} with its sorted sub-directories as classes. */
    public static ImageFolder open(Path root) throws IOException {
        return builder(root).open();
    }

    /** Opens {@code root} with these classes (index = position): e.g. the training set's classes for val. */
    public static ImageFolder open(Path root, List<String> classes) throws IOException {
        return builder(root).classes(classes).open();
    }

    /** Options for the folder {@code root} (one sub-folder per class). */
    public static Builder builder(Path root) {
        return new Builder(root);
    }

    /** Options of {@link ImageFolder}. */
    public static final class Builder {
        private final Path root;
        private List<String> classes;
        private boolean allowEmptyClasses;
        private Set<String> extensions = DEFAULT_EXTENSIONS;

        private Builder(Path root) {
            this.root = root;
        }

        /** The class list (index = position) instead of the sorted sub-directories. */
        public Builder classes(List<String> classes) {
            this.classes = List.copyOf(classes);
            return this;
        }

        /** Accepts class directories without images (and, with a class list, listed classes without one). */
        public Builder allowEmptyClasses(boolean allow) {
            this.allowEmptyClasses = allow;
            return this;
        }

        /** Image extensions without the dot, matched case-insensitively (default {@link #DEFAULT_EXTENSIONS}). */
        public Builder extensions(Set<String> extensions) {
            Set<String> lower = new HashSet<>();
            for (String e : extensions) lower.add(e.toLowerCase(Locale.ROOT).replaceFirst("^\\.", ""));
            this.extensions = Set.copyOf(lower);
            return this;
        }

        /** Lists the folder; a DatasetException names an empty folder or an unreadable entry. */
        public ImageFolder open() throws IOException {
            Path dir = root.toAbsolutePath().normalize();
            requireDirectory(dir);
            List<String> found = classDirectories(dir);
            List<String> classes = this.classes;
            if (classes == null) {
                classes = found;
                if (classes.isEmpty()) throw new DatasetException(dir + ": no class directories (expected root/<class>/<images>)");
            } else {
                Set<String> listed = new HashSet<>(classes);
                if (listed.size() != classes.size()) throw new IllegalArgumentException("class list has repeated names");
                for (String name : found)
                    if (!listed.contains(name))
                        throw new DatasetException(dir.resolve(name) + ": directory is not one of the " + classes.size()
                                + " given classes");
            }
            Set<String> present = new HashSet<>(found);
            List<Path> dirs = new ArrayList<>(classes.size());
            for (String c : classes) dirs.add(present.contains(c) ? dir.resolve(c) : null);
            return new ImageFolder(dir, scan(dir, classes, dirs, extensions, allowEmptyClasses), classes);
        }
    }

    static void requireDirectory(Path dir) throws DatasetException {
        if (!Files.exists(dir)) throw new DatasetException(dir + ": no such directory");
        if (!Files.isDirectory(dir)) throw new DatasetException(dir + ": not a directory");
    }

    /** The non-hidden sub-directories of {@code dir} (symbolic links followed), sorted by code point. */
    static List<String> classDirectories(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".") && Files.isDirectory(p)) names.add(name);
            }
        } catch (IOException e) {
            throw new DatasetException(dir + ": cannot list the directory: " + e.getMessage(), e);
        }
        names.sort(PathTable.CODE_POINT_ORDER);
        return names;
    }

    /**
     * Scans the class directories ({@code dirs[c]}, null for a class without one) and builds the dataset: samples
     * by class, then relative path.
     */
    static Scan scan(Path root, List<String> classes, List<Path> dirs, Set<String> extensions,
                            boolean allowEmpty) throws IOException {
        PathTable paths = new PathTable();
        int[] starts = new int[classes.size() + 1];
        List<String> empty = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            starts[c] = paths.size();
            Path classDir = dirs.get(c);
            List<String> files = classDir == null ? List.of() : imageFiles(root, classDir, extensions);
            if (files.isEmpty()) empty.add(classDir == null ? classes.get(c) + " (no directory)" : classes.get(c));
            for (String rel : files) {
                int dot = extensionDot(rel);
                paths.add(rel.substring(0, dot), rel.substring(dot));
            }
        }
        starts[classes.size()] = paths.size();
        if (!empty.isEmpty() && !allowEmpty)
            throw new DatasetException(root + ": " + empty.size() + " class" + (empty.size() == 1 ? "" : "es")
                    + " without images: " + String.join(", ", empty.subList(0, Math.min(5, empty.size())))
                    + (empty.size() > 5 ? ", ..." : "") + " (allowEmptyClasses to accept)");
        if (paths.size() == 0) throw new DatasetException(root + ": no images (extensions " + new TreeSet<>(extensions) + ")");
        checkUniqueKeys(paths, root, "one key per image");
        return new Scan(paths.trim(), starts);
    }

    /** Index of the extension's dot in a relative path ('/'-separated), or its length when there is none. */
    static int extensionDot(String rel) {
        int slash = rel.lastIndexOf('/');
        int dot = rel.lastIndexOf('.');
        return dot > slash + 1 ? dot : rel.length();
    }

    /** Image files under {@code classDir}, as paths relative to {@code root} with '/', sorted by code point. */
    private static List<String> imageFiles(Path root, Path classDir, Set<String> extensions) throws IOException {
        List<String> files = new ArrayList<>();
        try {
            Files.walkFileTree(classDir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    return !d.equals(classDir) && hidden(d) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !hidden(f)) {
                        String name = f.getFileName().toString();
                        int dot = name.lastIndexOf('.');
                        if (dot > 0 && extensions.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT)))
                            files.add(relative(root, f));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                    if (e instanceof FileSystemLoopException)
                        throw new DatasetException(f + ": symbolic link loop", e);
                    if (e instanceof NoSuchFileException && !f.equals(classDir)) return FileVisitResult.CONTINUE;  // dangling link
                    throw new DatasetException(f + ": cannot read: " + e.getMessage(), e);
                }
            });
        } catch (DatasetException e) {
            throw e;
        } catch (IOException e) {
            throw new DatasetException(classDir + ": cannot scan: " + e.getMessage(), e);
        }
        files.sort(PathTable.CODE_POINT_ORDER);
        return files;
    }

    private static boolean hidden(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    static String relative(Path root, Path file) {
        Path rel = root.relativize(file);
        StringBuilder b = new StringBuilder();
        for (Path part : rel) {
            if (b.length() > 0) b.append('/');
            b.append(part);
        }
        return b.toString();
    }

    @Override
    public String description() {
        return "ImageFolder " + root() + ": " + size() + " samples, " + classes().size() + " classes";
    }
}
