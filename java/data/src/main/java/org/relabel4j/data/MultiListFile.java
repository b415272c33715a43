package org.relabel4j.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * A multi-label list file ({@code multilist:FILE}): UTF-8 lines {@code path<TAB>id,id,...}, the ids of the classes
 * the image shows (0-based; an empty field after the TAB: no class). Paths are relative to the list file's directory
 * or absolute, and must lie under it (keys are relative to it, without the extension, '/'-separated). Blank lines
 * and lines starting with {@code #} are ignored; the last TAB separates the ids. Repeated ids of a line count once.
 * A bad id, a repeated key, a path outside the directory: an error naming the file and line. Files are checked when
 * read. Classes: the given names (ids must be below their count), else "0" ... the largest id.
 */
public final class MultiListFile extends FileDataset implements MultiLabelDataset {
    private final Path file;
    private final int[][] sets;

    private MultiListFile(Path file, Path root, PathTable paths, List<String> classes, int[] labels, int[][] sets) {
        super(root, paths, classes, null, labels);
        this.file = file;
        this.sets = sets;
    }

    /** Opens {@code file} with the classes found in it. */
    public static MultiListFile open(Path file) throws IOException {
        return open(file, null);
    }

    /** Opens {@code file} with these class names (null: "0" ... the largest id). */
    public static MultiListFile open(Path file, List<String> classes) throws IOException {
        Path list = file.toAbsolutePath().normalize();
        Path root = list.getParent();
        if (Files.isDirectory(list)) throw new DatasetException(list + ": a directory, not a multi-label list file");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(list))).toString();
        } catch (NoSuchFileException e) {
            throw new DatasetException(list + ": no such file", e);
        } catch (CharacterCodingException e) {
            throw new DatasetException(list + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DatasetException(list + ": cannot read: " + e.getMessage(), e);
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        PathTable paths = new PathTable();
        List<int[]> sets = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        int maxId = -1, lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) continue;
            String where = list + ":" + lineNo + ": ";
            int tab = line.lastIndexOf('\t');
            if (tab < 0) throw new DatasetException(where + "expected 'path<TAB>id,id,...', found no TAB");
            String pathText = line.substring(0, tab).strip(), idsText = line.substring(tab + 1).strip();
            if (pathText.isEmpty()) throw new DatasetException(where + "empty path");
            TreeSet<Integer> ids = new TreeSet<>();
            if (!idsText.isEmpty()) {
                for (String part : idsText.split(",", -1)) {
                    String p = part.strip();
                    int id;
                    try {
                        id = Integer.parseInt(p);
                    } catch (NumberFormatException e) {
                        throw new DatasetException(where + "class id '" + p + "' is not an integer");
                    }
                    if (id < 0) throw new DatasetException(where + "class id " + id + " is negative");
                    if (classes != null && id >= classes.size())
                        throw new DatasetException(where + "class id " + id + " is not below the " + classes.size() + " classes");
                    ids.add(id);
                }
            }
            Path p;
            try {
                p = Path.of(pathText);
            } catch (InvalidPathException e) {
                throw new DatasetException(where + "bad path '" + pathText + "': " + e.getReason());
            }
            p = (p.isAbsolute() ? p : root.resolve(p)).normalize();
            if (!p.startsWith(root) || p.equals(root))
                throw new DatasetException(where + pathText + " is not under " + root + " (keys are relative to it)");
            String rel = ImageFolder.relative(root, p);
            int dot = ImageFolder.extensionDot(rel);
            paths.add(rel.substring(0, dot), rel.substring(dot));
            int[] set = ids.stream().mapToInt(Integer::intValue).toArray();
            sets.add(set);
            lines.add(lineNo);
            if (set.length > 0) maxId = Math.max(maxId, set[set.length - 1]);
        }
        if (paths.size() == 0) throw new DatasetException(list + ": no samples (lines 'path<TAB>id,id,...')");
        int[] dup = paths.findDuplicateKey();
        if (dup != null)
            throw new DatasetException(list + ":" + lines.get(dup[1]) + ": key '" + paths.key(dup[1]) + "' repeats line "
                    + lines.get(dup[0]));
        List<String> names = classes != null ? classes : numberedClasses(Math.max(1, maxId + 1));
        int[][] all = sets.toArray(new int[0][]);
        int[] labels = new int[all.length];
        for (int i = 0; i < all.length; ++i) labels[i] = all[i].length > 0 ? all[i][0] : 0;
        return new MultiListFile(list, root, paths.trim(), names, labels, all);
    }

    @Override
    public int[] labelSet(int index) {
        return sets[index];
    }

    /** The list file. */
    public Path listFile() {
        return file;
    }

    @Override
    public String description() {
        long labels = Arrays.stream(sets).mapToLong(s -> s.length).sum();
        return "multi-label list " + file + ": " + size() + " samples, " + classes().size() + " classes, " + labels
                + " labels (keys relative to " + root() + ")";
    }
}
