package org.relabel4j.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A list file of {@code path<TAB>label} lines (UTF-8): {@code label} a class index, {@code path} an image file,
 * relative to the list file's directory or absolute. Blank lines and lines starting with {@code #} are ignored;
 * the last TAB of a line separates the label (paths may contain spaces; surrounding whitespace is trimmed).
 * Keys are the paths relative to the list file's directory (or {@link Builder#keyRoot}) without the extension,
 * '/'-separated; a path outside that directory, a repeated key, a bad label are errors naming the file and line.
 * Files are not checked at open: a missing one is reported by {@link #read}. Samples keep the list's order.
 *
 * <p>Classes: {@link Builder#classes} (labels must be below its size), else "0" ... the largest label.
 * Memory: about 9 bytes + the UTF-8 relative path per sample.
 */
public final class ListFile extends FileDataset {
    private final Path file;

    private ListFile(Path file, Path root, PathTable paths, List<String> classes, int[] labels) {
        super(root, paths, classes, null, labels);
        this.file = file;
    }

    /** Opens a list file with default options ({@link #builder}). */
    public static ListFile open(Path file) throws IOException {
        return builder(file).open();
    }

    /** Options for the list file {@code file} (one "path<TAB>label" line per sample). */
    public static Builder builder(Path file) {
        return new Builder(file);
    }

    /** The list file. */
    public Path listFile() {
        return file;
    }

    @Override
    public String description() {
        return "list " + file + ": " + size() + " samples, " + classes().size() + " classes (keys relative to " + root() + ")";
    }

    /** Options of {@link ListFile}. */
    public static final class Builder {
        private final Path file;
        private List<String> classes;
        private Path keyRoot;

        private Builder(Path file) {
            this.file = file;
        }

        /** Class names (index = position); labels must be below their count. */
        public Builder classes(List<String> classes) {
            this.classes = List.copyOf(classes);
            return this;
        }

        /**
         * The directory keys are relative to (default: the list file's directory); every path must lie under it.
         * Relative paths in the list still resolve against the list file's directory.
         */
        public Builder keyRoot(Path keyRoot) {
            this.keyRoot = keyRoot;
            return this;
        }

        /** Reads the list; a DatasetException names the line of a malformed entry. */
        public ListFile open() throws IOException {
            Path list = file.toAbsolutePath().normalize();
            Path dir = list.getParent();
            Path root = keyRoot != null ? keyRoot.toAbsolutePath().normalize() : dir;
            if (Files.isDirectory(list)) throw new DatasetException(list + ": a directory, not a list file");
            PathTable paths = new PathTable();
            int[] labels = new int[1024];
            int[] lines = new int[1024];  // line of each sample, for messages
            int maxLabel = -1;
            var decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
            int lineNo = 0;
            try (InputStream in = new BufferedInputStream(Files.newInputStream(list), 1 << 16)) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
                String line;
                while (true) {
                    bytes.reset();
                    int c;
                    while ((c = in.read()) >= 0 && c != '\n') bytes.write(c);
                    if (c < 0 && bytes.size() == 0) break;
                    try {
                        line = decoder.decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
                    } catch (CharacterCodingException e) {
                        throw new DatasetException(list + ":" + (lineNo + 1) + ": not UTF-8 text", e);
                    }
                    lineNo++;
                    if (lineNo == 1 && line.startsWith("\uFEFF")) line = line.substring(1);  // byte order mark
                    String t = line.strip();
                    if (t.isEmpty() || t.startsWith("#")) continue;
                    String where = list + ":" + lineNo + ": ";
                    int tab = line.lastIndexOf('\t');
                    if (tab < 0) throw new DatasetException(where + "expected 'path<TAB>label', found no TAB");
                    String pathText = line.substring(0, tab).strip(), labelText = line.substring(tab + 1).strip();
                    if (pathText.isEmpty()) throw new DatasetException(where + "empty path");
                    int label;
                    try {
                        label = Integer.parseInt(labelText);
                    } catch (NumberFormatException e) {
                        throw new DatasetException(where + "label '" + labelText + "' is not an integer");
                    }
                    if (label < 0) throw new DatasetException(where + "label " + label + " is negative");
                    if (classes != null && label >= classes.size())
                        throw new DatasetException(where + "label " + label + " is not below the " + classes.size() + " classes");
                    Path p;
                    try {
                        p = Path.of(pathText);
                    } catch (InvalidPathException e) {
                        throw new DatasetException(where + "bad path '" + pathText + "': " + e.getReason());
                    }
                    p = (p.isAbsolute() ? p : dir.resolve(p)).normalize();
                    if (!p.startsWith(root) || p.equals(root))
                        throw new DatasetException(where + pathText + " is not under " + root
                                + " (keys are relative to it; ListFile.Builder.keyRoot sets another directory)");
                    String rel = ImageFolder.relative(root, p);
                    int dot = ImageFolder.extensionDot(rel);
                    int n = paths.size();
                    paths.add(rel.substring(0, dot), rel.substring(dot));
                    if (n == labels.length) {
                        labels = Arrays.copyOf(labels, 2 * n);
                        lines = Arrays.copyOf(lines, 2 * n);
                    }
                    labels[n] = label;
                    lines[n] = lineNo;
                    maxLabel = Math.max(maxLabel, label);
                }
            } catch (NoSuchFileException e) {
                throw new DatasetException(list + ": no such file", e);
            } catch (DatasetException e) {
                throw e;
            } catch (IOException e) {
                throw new DatasetException(list + ": cannot read: " + e.getMessage(), e);
            }
            if (paths.size() == 0) throw new DatasetException(list + ": no samples (lines 'path<TAB>label')");
            int[] dup = paths.findDuplicateKey();
            if (dup != null)
                throw new DatasetException(list + ":" + lines[dup[1]] + ": key '" + paths.key(dup[1]) + "' repeats line "
                        + lines[dup[0]]);
            List<String> names = classes != null ? classes : numberedClasses(maxLabel + 1);
            return new ListFile(list, root, paths.trim(), names, Arrays.copyOf(labels, paths.size()));
        }
    }
}
