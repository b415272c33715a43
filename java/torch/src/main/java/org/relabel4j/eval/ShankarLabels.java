package org.relabel4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.relabel4j.torchsave.Pickle;
import org.relabel4j.torchsave.PyObject;

/**
 * Multi-label annotations of Shankar et al. 2020, "Evaluating Machine Accuracy on ImageNet" (ICML): for each
 * annotated image, the sets of labels experts judged {@code correct}, {@code unclear} and {@code wrong}, and whether
 * the image is {@code problematic} (excluded from the metric).
 *
 * <p>Multi-label accuracy ({@link #evaluate}): over the graded, non-problematic images that are in the dataset and
 * were evaluated, the fraction whose top-1 prediction is among the image's {@code correct} labels ("unclear" counts
 * as wrong; {@link Result#accuracyWithUnclear} also counts it as right, as ImageNet-M's scoring does).
 *
 * <p>Inputs, told apart by their top-level keys ({@link #load} reads a Python pickle with the pure-Java pickle
 * reader, or JSON):
 * <ul>
 *   <li>{@link Layout#HUMAN_STUDY}: the authors' {@code human_accuracy.pickle} (modestyachts/
 *       evaluating_machine_accuracy_on_imagenet), a dict with {@code labeled_images} (the graded image ids),
 *       {@code image_labels} (id &rarr; {@code {"correct": [wnid...], "unclear": [...], ...}}) and {@code image_map}
 *       (id &rarr; a dict with {@code "problematic"}). Graded as the repository's {@code HumanAccuracyPortable.
 *       compute_accuracy} does: the images of {@code labeled_images} (all of {@code image_labels} when it is absent),
 *       problematic ones excluded, correct when the prediction is in {@code image_labels[id]["correct"]}. These are
 *       the ~2,000 images of the human study (about 1,000 of ImageNet val, 1,000 of ImageNetV2). The layout is read
 *       from that repository's code (the file itself was not at hand when this reader was written): a file that
 *       does not have it fails with a message naming the missing key.</li>
 *   <li>{@link Layout#MULTILABEL_JSON}: {@code human_accuracy_v3.0.0.json} (Google's release with the corrections of
 *       Vasudevan et al. 2022, read by TFDS's {@code imagenet2012_multilabel}): {@code initial_annots} (image name
 *       &rarr; {@code {"correct": [wnid...], "wrong": [...], "unclear": [...]}}, ~20,000 validation images) and
 *       {@code problematic_images} (a dict or list of image names). All of {@code initial_annots} is graded.</li>
 *   <li>{@link Layout#FLAT_JSON}: the simple conversion {@code {"ILSVRC2012_val_00000001.JPEG": {"correct": [...],
 *       "unclear": [...], "problematic": false}, ...}} ({@code unclear}, {@code wrong} and {@code problematic}
 *       optional). All entries are graded.</li>
 * </ul>
 *
 * <p>Labels are WordNet ids (matched against the dataset's class names, e.g. an ImageFolder's {@code n01440764}
 * folders) or class ids (integers). Images are matched to the
 * dataset's samples by file name without extension ({@code ILSVRC2012_val_00000001}), wherever they sit.
 */
public final class ShankarLabels {
    /** Which file layout the labels came from. */
    public enum Layout {
        HUMAN_STUDY, MULTILABEL_JSON, FLAT_JSON
    }

    /**
     * One annotated image: its name (as in the file) and label sets. A label is a class name (a WordNet id) or, for a
     * class id given as a number, {@code "#<id>"} (e.g. {@code "#207"}).
     */
    public record Annotation(String image, Set<String> correct, Set<String> unclear, Set<String> wrong,
                             boolean problematic) {
        public Annotation {
            correct = Set.copyOf(correct);
            unclear = Set.copyOf(unclear);
            wrong = Set.copyOf(wrong);
        }
    }

    private static final String VAL_PREFIX = "ILSVRC2012_val_";

    private final List<Annotation> graded;
    private final Layout layout;
    private final String source;

    private ShankarLabels(List<Annotation> graded, Layout layout, String source) {
        this.graded = List.copyOf(graded);
        this.layout = layout;
        this.source = source;
    }

    /** Annotations given directly (all graded). */
    public static ShankarLabels of(List<Annotation> annotations, String source) {
        return new ShankarLabels(annotations, Layout.FLAT_JSON, source);
    }

    /** Reads a pickle (first byte 0x80: protocol 2 or later) or a JSON file; see the class comment. */
    public static ShankarLabels load(Path file) throws IOException {
        int first;
        try (InputStream in = Files.newInputStream(file)) {
            first = in.read();
            while (first == ' ' || first == '\n' || first == '\r' || first == '\t') first = in.read();
        }
        Object root;
        if (first == 0x80) {
            root = Pickle.load(file);
        } else if (first == '{') {
            try {
                root = new ObjectMapper().readValue(file.toFile(), Object.class);
            } catch (JsonProcessingException e) {
                throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
        } else {
            throw new IOException(file + ": neither a pickle (protocol 2 or later) nor a JSON object: expected Shankar "
                    + "et al.'s human_accuracy.pickle, human_accuracy_v3.0.0.json, or a {\"<image>\": {\"correct\": "
                    + "[...]}} JSON file");
        }
        try {
            return fromObject(root, file.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Interprets an unpickled or JSON-parsed value (maps, lists, sets, strings, numbers, booleans); throws
     * IllegalArgumentException naming the missing or malformed part.
     */
    public static ShankarLabels fromObject(Object root, String source) {
        Map<?, ?> top = map(root, source, "the top level");
        if (top.containsKey("image_labels")) return humanStudy(top, source);
        if (top.containsKey("initial_annots")) return multilabelJson(top, source);
        List<Annotation> out = new ArrayList<>(top.size());
        for (Map.Entry<?, ?> e : top.entrySet()) {
            String image = text(e.getKey(), source, "an image name");
            Map<?, ?> entry = map(e.getValue(), source, "entry " + image);
            Object prob = entry.get("problematic");
            out.add(annotation(image, entry, prob != null && truth(prob, source, image + ".problematic"), source));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(source + ": no annotated images");
        return new ShankarLabels(out, Layout.FLAT_JSON, source);
    }

    private static ShankarLabels humanStudy(Map<?, ?> top, String source) {
        Map<?, ?> labels = map(top.get("image_labels"), source, "image_labels");
        Object imageMapValue = top.get("image_map");
        if (imageMapValue == null)
            throw new IllegalArgumentException(source + ": has image_labels but no image_map (the problematic flags)");
        Map<?, ?> imageMap = map(imageMapValue, source, "image_map");
        Collection<?> ids = top.containsKey("labeled_images") ? collection(top.get("labeled_images"), source,
                "labeled_images") : labels.keySet();
        List<Annotation> out = new ArrayList<>(ids.size());
        for (Object idValue : ids) {
            String id = text(idValue, source, "an id of labeled_images");
            Object l = labels.get(id);
            if (l == null) throw new IllegalArgumentException(source + ": image_labels has no entry for " + id);
            Object info = imageMap.get(id);
            if (info == null) throw new IllegalArgumentException(source + ": image_map has no entry for " + id);
            Object prob = map(info, source, "image_map[" + id + "]").get("problematic");
            if (prob == null)
                throw new IllegalArgumentException(source + ": image_map[" + id + "] has no 'problematic' flag");
            out.add(annotation(id, map(l, source, "image_labels[" + id + "]"), truth(prob, source,
                    "image_map[" + id + "].problematic"), source));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(source + ": no labeled images");
        return new ShankarLabels(out, Layout.HUMAN_STUDY, source);
    }

    private static ShankarLabels multilabelJson(Map<?, ?> top, String source) {
        Map<?, ?> annots = map(top.get("initial_annots"), source, "initial_annots");
        Set<String> problematic = new HashSet<>();
        Object p = top.get("problematic_images");
        if (p == null)
            throw new IllegalArgumentException(source + ": has initial_annots but no problematic_images");
        Collection<?> names = p instanceof Map<?, ?> m ? m.keySet() : collection(p, source, "problematic_images");
        for (Object o : names) problematic.add(text(o, source, "a name in problematic_images"));
        List<Annotation> out = new ArrayList<>(annots.size());
        for (Map.Entry<?, ?> e : annots.entrySet()) {
            String image = text(e.getKey(), source, "an image name of initial_annots");
            out.add(annotation(image, map(e.getValue(), source, "initial_annots[" + image + "]"),
                    problematic.contains(image), source));
        }
        if (out.isEmpty()) throw new IllegalArgumentException(source + ": initial_annots is empty");
        return new ShankarLabels(out, Layout.MULTILABEL_JSON, source);
    }

    private static Annotation annotation(String image, Map<?, ?> states, boolean problematic, String source) {
        return new Annotation(image, labels(states, "correct", image, source), labels(states, "unclear", image, source),
                labels(states, "wrong", image, source), problematic);
    }

    private static Set<String> labels(Map<?, ?> states, String state, String image, String source) {
        Object v = states.get(state);
        Set<String> out = new HashSet<>();
        if (v == null) return out;
        for (Object o : collection(v, source, image + "." + state)) {
            if (o instanceof Number n && (o instanceof Long || o instanceof Integer || o instanceof Short))
                out.add("#" + n.longValue());
            else out.add(text(o, source, "a label of " + image + "." + state));
        }
        return out;
    }

    private static Map<?, ?> map(Object v, String source, String what) {
        if (v instanceof Map<?, ?> m) return m;
        if (v instanceof PyObject o && !o.dictItems().isEmpty()) return o.dictItems();
        throw new IllegalArgumentException(source + ": " + what + " is " + describe(v) + ", not a dict");
    }

    private static Collection<?> collection(Object v, String source, String what) {
        if (v instanceof Collection<?> c) return c;
        if (v instanceof Map<?, ?> m) return m.keySet();
        throw new IllegalArgumentException(source + ": " + what + " is " + describe(v) + ", not a list or set");
    }

    private static String text(Object v, String source, String what) {
        if (v instanceof String s) return s;
        if (v instanceof byte[] b) return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        throw new IllegalArgumentException(source + ": " + what + " is " + describe(v) + ", not a string");
    }

    /** A Python bool, an int 0/1, or a NumPy bool scalar ({@code numpy.bool_}). */
    private static boolean truth(Object v, String source, String what) {
        if (v instanceof Boolean b) return b;
        if (v instanceof Number n && (v instanceof Long || v instanceof Integer) && (n.longValue() == 0 || n.longValue() == 1))
            return n.longValue() == 1;
        if (v instanceof PyObject o && o.className().endsWith("multiarray.scalar") && o.args().size() == 2
                && o.args().get(1) instanceof byte[] b && b.length == 1)
            return b[0] != 0;
        throw new IllegalArgumentException(source + ": " + what + " is " + describe(v) + ", not a boolean");
    }

    private static String describe(Object v) {
        if (v == null) return "missing (None)";
        if (v instanceof PyObject o) return "an object of class " + o.className();
        if (v instanceof String s) return "the string '" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
        return "a " + v.getClass().getSimpleName();
    }

    public Layout layout() {
        return layout;
    }

    public String source() {
        return source;
    }

    /** The graded images (problematic ones included; they are excluded when scoring). */
    public List<Annotation> graded() {
        return graded;
    }

    /**
     * Multi-label accuracy counts. {@code subset}: "val" when every matched image is an ImageNet validation image
     * ({@code ILSVRC2012_val_*}), "v2" when none is, else "mixed". {@code graded}: graded annotations of that subset;
     * {@code problematic}: of those, excluded as problematic; {@code notInDataset}: non-problematic ones the dataset
     * lacks; {@code notEvaluated}: in the dataset but not evaluated (unreadable); {@code n}: scored;
     * {@code correct}: top-1 in the correct labels; {@code correctOrUnclear}: top-1 in the correct or unclear
     * labels; {@code unresolvedLabels}: distinct labels of scored images that name no class of the dataset (they
     * can never match).
     */
    public record Result(String subset, int graded, int problematic, int notInDataset, int notEvaluated, int n,
                         int correct, int correctOrUnclear, int unresolvedLabels) {
        public double accuracy() {
            return n == 0 ? Double.NaN : (double) correct / n;
        }

        public double accuracyWithUnclear() {
            return n == 0 ? Double.NaN : (double) correctOrUnclear / n;
        }
    }

    /**
     * Scores {@code p} against these annotations; {@code classNames} (index = class id) resolves WordNet-id labels.
     * Throws IllegalArgumentException when no annotated image is in the dataset, or when no label of the scored
     * images names a class (the dataset's class names are not WordNet ids).
     */
    public Result evaluate(Predictions p, List<String> classNames) {
        Map<String, Integer> byStem = new HashMap<>(p.size() * 2);
        for (int i = 0; i < p.size(); ++i) {
            Integer prev = byStem.put(stem(p.fileName(i)), i);
            if (prev != null)
                throw new IllegalArgumentException("two images of the dataset are named " + stem(p.fileName(i)) + " ("
                        + p.key(prev) + " and " + p.key(i) + "): the multi-label annotations are matched by file name");
        }
        Map<String, Integer> classIndex = new HashMap<>(classNames.size() * 2);
        for (int c = 0; c < classNames.size(); ++c) classIndex.putIfAbsent(classNames.get(c), c);

        boolean anyVal = false, anyOther = false;
        for (Annotation a : graded) {
            if (byStem.containsKey(stem(a.image()))) {
                if (isVal(a.image())) anyVal = true;
                else anyOther = true;
            }
        }
        if (!anyVal && !anyOther) {
            String example = graded.get(0).image(), mine = p.size() > 0 ? p.fileName(0) : "(none)";
            throw new IllegalArgumentException("none of the " + graded.size() + " images annotated in " + source
                    + " is in the dataset (annotated images are named like " + example + ", the dataset's like " + mine + ")");
        }
        int gradedHere = 0, problematic = 0, notIn = 0, notEval = 0, n = 0, correct = 0, withUnclear = 0;
        int resolved = 0;
        Set<String> unresolved = new HashSet<>();
        for (Annotation a : graded) {
            boolean val = isVal(a.image());
            if (!(val ? anyVal : anyOther)) continue;  // the other subset (e.g. ImageNetV2 images when scoring val)
            ++gradedHere;
            if (a.problematic()) {
                ++problematic;
                continue;
            }
            Integer i = byStem.get(stem(a.image()));
            if (i == null) {
                ++notIn;
                continue;
            }
            if (!p.evaluated(i)) {
                ++notEval;
                continue;
            }
            ++n;
            Set<Integer> ok = new HashSet<>(), okUnclear = new HashSet<>();
            for (String l : a.correct()) {
                Integer c = resolve(l, classIndex);
                if (c == null) unresolved.add(l);
                else {
                    ++resolved;
                    ok.add(c);
                }
            }
            for (String l : a.unclear()) {
                Integer c = resolve(l, classIndex);
                if (c == null) unresolved.add(l);
                else {
                    ++resolved;
                    okUnclear.add(c);
                }
            }
            int top1 = p.top1(i);
            if (ok.contains(top1)) ++correct;
            if (ok.contains(top1) || okUnclear.contains(top1)) ++withUnclear;
        }
        if (resolved == 0 && !unresolved.isEmpty())
            throw new IllegalArgumentException("no label of the annotated images names a class of the dataset (labels "
                    + "such as " + unresolved.iterator().next() + ", classes such as "
                    + (classNames.isEmpty() ? "(none)" : classNames.get(0)) + "): the annotations use WordNet ids, so the"
                    + " dataset's classes must be named by WordNet id (give the class names for ImageNetV2)");
        String subset = anyVal && anyOther ? "mixed" : anyVal ? "val" : "v2";
        return new Result(subset, gradedHere, problematic, notIn, notEval, n, correct, withUnclear, unresolved.size());
    }

    /** A class name's index, or the id of a {@code #<id>} label; null when it names no class. */
    private static Integer resolve(String label, Map<String, Integer> classIndex) {
        if (label.startsWith("#")) {
            String digits = label.substring(1);
            if (!digits.isEmpty() && digits.length() <= 9 && digits.chars().allMatch(ch -> ch >= '0' && ch <= '9'))
                return Integer.parseInt(digits);
            return null;
        }
        return classIndex.get(label);
    }

    private static boolean isVal(String image) {
        return image.startsWith(VAL_PREFIX) || image.contains("/" + VAL_PREFIX);
    }

    /** The file name without directories and without an image extension. */
    static String stem(String name) {
        String base = name.substring(name.lastIndexOf('/') + 1);
        int dot = base.lastIndexOf('.');
        if (dot > 0) {
            String ext = base.substring(dot + 1).toLowerCase(Locale.ROOT);
            if (Set.of("jpeg", "jpg", "png", "bmp", "webp", "tif", "tiff", "ppm", "pgm").contains(ext))
                return base.substring(0, dot);
        }
        return base;
    }

    /** The annotations by image name, for callers that want them. */
    public Map<String, Annotation> byImage() {
        Map<String, Annotation> m = new LinkedHashMap<>();
        for (Annotation a : graded) m.put(a.image(), a);
        return m;
    }
}
