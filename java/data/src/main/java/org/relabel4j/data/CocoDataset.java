package org.relabel4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A COCO instances file as a multi-label dataset ({@code coco:IMAGES_DIR:INSTANCES.json}, e.g.
 * {@code coco:train2017:annotations/instances_train2017.json}): the images of its {@code images} list (in file
 * order; {@code file_name} under IMAGES_DIR, which must exist), the categories of its {@code categories} list mapped
 * to contiguous ids 0..n-1 in category-id order (COCO's 80 categories: 1..90 with gaps become 0..79; the class names
 * are the category names), and per image the set of categories of its {@code annotations}. Images without an
 * annotation are kept (an empty set) unless the spec ends in {@code :annotated}. Keys: {@code file_name} without
 * its extension.
 *
 * <p>With {@link #open(Path, Path, boolean, boolean) annotations kept}, {@link #annotations} holds each image's
 * instances (category index, box, segmentation as polygons or RLE), for oracle label maps.
 *
 * <p>Malformed JSON, a missing field, an annotation of an unknown image or category id, a repeated id, a missing
 * image file: a {@link DatasetException} naming the file and the entry.
 */
public final class CocoDataset extends FileDataset implements MultiLabelDataset {
    private final Path json;
    private final int[][] sets;
    private final int[] imageIds, widths, heights;
    private final List<List<Instance>> instances;

    /**
     * One annotation: the contiguous class index, the box (x, y, w, h in pixels), iscrowd, and the segmentation as
     * COCO stores it (a list of polygons, or an RLE object with {@code size} and {@code counts}; null: box only).
     */
    public record Instance(int category, double[] bbox, boolean crowd, JsonNode segmentation) {}

    private CocoDataset(Path json, Path root, PathTable paths, List<String> classes, int[] labels, int[][] sets,
            int[] imageIds, int[] widths, int[] heights, List<List<Instance>> instances) {
        super(root, paths, classes, null, labels);
        this.json = json;
        this.sets = sets;
        this.imageIds = imageIds;
        this.widths = widths;
        this.heights = heights;
        this.instances = instances;
    }

    /**
     * Opens the part of a spec after {@code coco:}: {@code IMAGES_DIR:INSTANCES.json}, optionally followed by
     * {@code :annotated}. {@code classes}: names the categories must match in number (null: the file's).
     */
    public static CocoDataset open(String spec, List<String> classes) throws IOException {
        boolean annotated = false;
        String rest = spec;
        if (rest.endsWith(":annotated")) {
            annotated = true;
            rest = rest.substring(0, rest.length() - ":annotated".length());
        }
        int colon = rest.lastIndexOf(':');
        if (colon <= 0 || colon == rest.length() - 1)
            throw new DatasetException("coco:" + spec + ": expected coco:IMAGES_DIR:INSTANCES.json[:annotated]");
        CocoDataset d = open(Path.of(rest.substring(0, colon)), Path.of(rest.substring(colon + 1)), annotated, false);
        if (classes != null && classes.size() != d.classes().size())
            throw new DatasetException(d.json + ": " + d.classes().size() + " categories, but " + classes.size()
                    + " classes expected (those of the training set)");
        return d;
    }

    /**
     * Reads {@code instancesJson} over the images under {@code imagesDir}; {@code annotatedOnly} drops images without
     * annotations; {@code keepInstances} keeps every annotation for {@link #annotations}.
     */
    public static CocoDataset open(Path imagesDir, Path instancesJson, boolean annotatedOnly, boolean keepInstances)
            throws IOException {
        Path file = instancesJson.toAbsolutePath().normalize();
        Path root = imagesDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) throw new DatasetException(root + ": no such image directory");
        JsonNode doc = readJson(file);
        JsonNode images = array(doc, "images", file), categories = array(doc, "categories", file),
                annotations = array(doc, "annotations", file);
        TreeMap<Long, String> catNames = categoryNames(categories, file);
        Map<Long, Integer> catIndex = new HashMap<>();
        for (long id : catNames.keySet()) catIndex.put(id, catIndex.size());
        Map<Long, Integer> imageIndex = new HashMap<>();
        for (int i = 0; i < images.size(); ++i) {
            JsonNode im = images.get(i);
            long id = integer(im, "id", file, "images[" + i + "]");
            if (imageIndex.put(id, i) != null)
                throw new DatasetException(file + ": images[" + i + "]: image id " + id + " repeats");
        }
        List<TreeSet<Integer>> found = new ArrayList<>();
        List<List<Instance>> inst = new ArrayList<>();
        for (int i = 0; i < images.size(); ++i) {
            found.add(new TreeSet<>());
            inst.add(keepInstances ? new ArrayList<>() : null);
        }
        for (int i = 0; i < annotations.size(); ++i) {
            JsonNode a = annotations.get(i);
            String where = "annotations[" + i + "]";
            long imageId = integer(a, "image_id", file, where), catId = integer(a, "category_id", file, where);
            Integer im = imageIndex.get(imageId);
            if (im == null) throw new DatasetException(file + ": " + where + ": unknown image_id " + imageId);
            Integer cat = catIndex.get(catId);
            if (cat == null)
                throw new DatasetException(file + ": " + where + ": unknown category_id " + catId + " (not in categories)");
            found.get(im).add(cat);
            if (keepInstances) inst.get(im).add(instance(a, cat, file, where));
        }
        PathTable paths = new PathTable();
        List<int[]> sets = new ArrayList<>();
        List<Integer> ids = new ArrayList<>(), ws = new ArrayList<>(), hs = new ArrayList<>();
        List<List<Instance>> keptInst = new ArrayList<>();
        for (int i = 0; i < images.size(); ++i) {
            if (annotatedOnly && found.get(i).isEmpty()) continue;
            JsonNode im = images.get(i);
            String where = "images[" + i + "] (id " + im.get("id").asLong() + ")";
            String rel = ImageFolder.relative(root, imagePath(root, im, file, where));
            int dot = ImageFolder.extensionDot(rel);
            paths.add(rel.substring(0, dot), rel.substring(dot));
            sets.add(found.get(i).stream().mapToInt(Integer::intValue).toArray());
            ids.add((int) im.get("id").asLong());
            ws.add(im.has("width") ? im.get("width").asInt() : 0);
            hs.add(im.has("height") ? im.get("height").asInt() : 0);
            keptInst.add(keepInstances ? List.copyOf(inst.get(i)) : null);
        }
        if (paths.size() == 0) throw new DatasetException(file + ": no images" + (annotatedOnly ? " with annotations" : ""));
        checkUniqueKeys(paths, root, "COCO file names differing only in their extension");
        int[][] all = sets.toArray(new int[0][]);
        int[] labels = new int[all.length];
        for (int i = 0; i < all.length; ++i) labels[i] = all[i].length > 0 ? all[i][0] : 0;
        return new CocoDataset(file, root, paths.trim(), List.copyOf(catNames.values()), labels, all,
                ids.stream().mapToInt(Integer::intValue).toArray(), ws.stream().mapToInt(Integer::intValue).toArray(),
                hs.stream().mapToInt(Integer::intValue).toArray(), keepInstances ? keptInst : null);
    }

    /** The instances file as a JSON object; clear errors for a missing file or malformed JSON. */
    private static JsonNode readJson(Path file) throws IOException {
        JsonNode doc;
        try {
            doc = new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new DatasetException(file + ": malformed JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")" : ""), e);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new DatasetException(file + ": no such file", e);
        }
        if (doc == null || !doc.isObject()) throw new DatasetException(file + ": not a COCO instances file (a JSON object)");
        return doc;
    }

    /** Category id to name, in id order (the order of the contiguous class ids). */
    private static TreeMap<Long, String> categoryNames(JsonNode categories, Path file) throws DatasetException {
        TreeMap<Long, String> names = new TreeMap<>();
        for (int i = 0; i < categories.size(); ++i) {
            JsonNode c = categories.get(i);
            String where = "categories[" + i + "]";
            long id = integer(c, "id", file, where);
            if (names.put(id, text(c, "name", file, where)) != null)
                throw new DatasetException(file + ": " + where + ": category id " + id + " repeats");
        }
        if (names.isEmpty()) throw new DatasetException(file + ": no categories");
        return names;
    }

    /** One annotation's box and mask (at least one of them) as an {@link Instance} of class {@code cat}. */
    private static Instance instance(JsonNode a, int cat, Path file, String where) throws DatasetException {
        JsonNode b = a.get("bbox");
        double[] bbox = null;
        if (b != null && !b.isNull()) {
            if (!b.isArray() || b.size() != 4)
                throw new DatasetException(file + ": " + where + ": bbox must be [x, y, width, height]");
            bbox = new double[4];
            for (int j = 0; j < 4; ++j) {
                if (!b.get(j).isNumber()) throw new DatasetException(file + ": " + where + ": bbox[" + j + "] is not a number");
                bbox[j] = b.get(j).asDouble();
            }
        }
        JsonNode seg = a.get("segmentation");
        if (seg != null && (seg.isNull() || (seg.isArray() && seg.isEmpty()))) seg = null;
        if (seg == null && bbox == null)
            throw new DatasetException(file + ": " + where + ": neither segmentation nor bbox");
        JsonNode crowd = a.get("iscrowd");
        return new Instance(cat, bbox, crowd != null && crowd.asInt() == 1, seg);
    }

    /** The image file of {@code images[i]}: its file_name under {@code root}, which must exist. */
    private static Path imagePath(Path root, JsonNode im, Path file, String where) throws DatasetException {
        String name = text(im, "file_name", file, where);
        Path p;
        try {
            p = root.resolve(name).normalize();
        } catch (InvalidPathException e) {
            throw new DatasetException(file + ": " + where + ": bad file_name '" + name + "'");
        }
        if (!p.startsWith(root) || p.equals(root))
            throw new DatasetException(file + ": " + where + ": file_name '" + name + "' is not under " + root);
        if (!Files.isRegularFile(p))
            throw new DatasetException(file + ": " + where + ": image " + p + " does not exist");
        return p;
    }

    private static JsonNode array(JsonNode doc, String field, Path file) throws DatasetException {
        JsonNode n = doc.get(field);
        if (n == null || !n.isArray())
            throw new DatasetException(file + ": not a COCO instances file: no '" + field + "' list");
        return n;
    }

    private static long integer(JsonNode n, String field, Path file, String where) throws DatasetException {
        JsonNode v = n == null ? null : n.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber())
            throw new DatasetException(file + ": " + where + ": '" + field + "' is missing or not an integer");
        return v.asLong();
    }

    private static String text(JsonNode n, String field, Path file, String where) throws DatasetException {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) throw new DatasetException(file + ": " + where + ": '" + field + "' is missing or not a string");
        return v.asText();
    }

    @Override
    public int[] labelSet(int index) {
        return sets[index];
    }

    /** The COCO image id of sample {@code index}. */
    public int imageId(int index) {
        return imageIds[index];
    }

    /** The width and height the JSON gives for sample {@code index} (0 when absent). */
    public int[] declaredSize(int index) {
        return new int[] {widths[index], heights[index]};
    }

    /** The instances of sample {@code index}; only when opened with annotations kept. */
    public List<Instance> annotations(int index) {
        if (instances == null) throw new IllegalStateException("opened without keeping the annotations");
        return instances.get(index);
    }

    /** The instances file. */
    public Path instancesFile() {
        return json;
    }

    @Override
    public String description() {
        long labels = Arrays.stream(sets).mapToLong(s -> s.length).sum();
        return "coco " + json + ": " + size() + " images under " + root() + ", " + classes().size() + " categories, "
                + labels + " image labels";
    }
}
