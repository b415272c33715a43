package org.relabel4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Opens a dataset from a command-line spec:
 *
 * <ul>
 *   <li>{@code imagefolder:DIR} ({@link ImageFolder}), {@code imagenetv2:DIR} ({@link ImageNetV2}),
 *       {@code list:FILE} ({@link ListFile}), {@code tar:PATTERN} ({@link TarShards}, brace pattern);</li>
 *   <li>multi-label ({@link MultiLabelDataset}): {@code multilist:FILE} ({@link MultiListFile}, lines
 *       {@code path<TAB>id,id,...}), {@code coco:IMAGES_DIR:INSTANCES.json[:annotated]} ({@link CocoDataset}: COCO's
 *       instances JSON; {@code :annotated} drops the images without annotations);</li>
 *   <li>without a prefix: a pattern ending in {@code .tar} is tar shards, a {@code .txt} or {@code .tsv} file a
 *       list, a directory an ImageFolder. A directory whose class folders are all numbers, more than ten of them,
 *       is refused: its ImageFolder order (0, 1, 10, 100, ...) differs from the number order of ImageNetV2, so
 *       the spec must say which one is meant.</li>
 * </ul>
 *
 * Compressed shards ({@code .tar.gz}, {@code .tgz}) cannot be read in place and are refused.
 */
public final class Datasets {
    private Datasets() {}

    /** Opens {@code spec} with the classes found in it. */
    public static Dataset open(String spec) throws IOException {
        return open(spec, null);
    }

    /**
     * Opens {@code spec} with these classes (index = position; null: the classes found in it): an ImageFolder's
     * class directories (e.g. train's classes for val), the names of ImageNetV2 folders 0, 1, ..., of a list's or
     * shards' labels.
     */
    public static Dataset open(String spec, List<String> classes) throws IOException {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty dataset spec");
        int colon = spec.indexOf(':');
        if (colon > 0) {
            String kind = spec.substring(0, colon).toLowerCase(Locale.ROOT), rest = spec.substring(colon + 1);
            switch (kind) {
                case "imagefolder":
                    return imageFolder(Path.of(rest), classes, false);
                case "imagenetv2":
                    return ImageNetV2.open(Path.of(rest), classes);
                case "list":
                    return list(Path.of(rest), classes);
                case "tar":
                    return tar(rest, classes);
                case "multilist":
                    return MultiListFile.open(Path.of(rest), classes);
                case "coco":
                    return CocoDataset.open(rest, classes);
                default:
                    break;  // a path with a colon
            }
        }
        String lower = spec.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz") || lower.endsWith(".tar.zst") || lower.endsWith(".tar.xz"))
            throw new DatasetException(spec + ": compressed tar shards cannot be read in place; decompress them to .tar");
        if (lower.endsWith(".tar")) return tar(spec, classes);
        if (lower.endsWith(".txt") || lower.endsWith(".tsv")) return list(Path.of(spec), classes);
        Path p = Path.of(spec);
        if (Files.isDirectory(p)) return imageFolder(p, classes, true);
        if (!Files.exists(p)) throw new DatasetException(spec + ": no such file or directory");
        throw new DatasetException(spec + ": cannot tell the kind of dataset; write imagefolder:DIR, imagenetv2:DIR, "
                + "list:FILE or tar:PATTERN");
    }

    private static Dataset imageFolder(Path dir, List<String> classes, boolean guessed) throws IOException {
        if (guessed && classes == null) {
            Path root = dir.toAbsolutePath().normalize();
            List<String> names = ImageFolder.classDirectories(root);
            if (names.size() > 10 && names.stream().allMatch(n -> ImageNetV2.classNumber(n) >= 0))
                throw new DatasetException(root + ": the class folders are numbers (" + names.size() + " of them): write "
                        + "imagenetv2:" + dir + " for class = folder number, or imagefolder:" + dir
                        + " for class = position in name order (0, 1, 10, 100, ...)");
        }
        return classes == null ? ImageFolder.open(dir) : ImageFolder.open(dir, classes);
    }

    private static Dataset list(Path file, List<String> classes) throws IOException {
        ListFile.Builder b = ListFile.builder(file);
        if (classes != null) b.classes(classes);
        return b.open();
    }

    private static Dataset tar(String pattern, List<String> classes) throws IOException {
        TarShards.Builder b = TarShards.builder(pattern);
        if (classes != null) b.classes(classes);
        return b.open();
    }
}
