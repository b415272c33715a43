package org.relabel4j.eval;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The reassessed ImageNet validation labels of Beyer et al. 2020, "Are we done with ImageNet?" ({@code real.json}
 * of google-research/reassessed-imagenet): a JSON list of 50,000 lists of class ids, the i-th list for the i-th
 * validation image in file-name order ({@code ILSVRC2012_val_00000001.JPEG}, ...). An empty list marks an image the
 * raters found no valid label for; such images are left out of ReaL accuracy.
 *
 * <p>Alignment: the lists are matched to the dataset's images by sorting the images' file names (code point order,
 * as Python's {@code sorted}); the list count must equal the dataset's image count, file names must be unique, and
 * where every file name has the {@code ILSVRC2012_val_<8 digits>} form, the i-th sorted name must carry number
 * i + 1. Anything else is an IllegalArgumentException that says what does not match.
 *
 * <p>Metric ({@link #evaluate}), as in the paper and timm's {@code RealLabelsImagenet}: over the evaluated images
 * whose list is non-empty, ReaL top-1 is the fraction whose top-1 prediction is in the list, ReaL top-5 the fraction
 * with at least one of the first five predictions in the list.
 */
public final class RealLabels {
    private static final Pattern VAL_NAME = Pattern.compile("ILSVRC2012_val_(\\d{8})(\\.[^/]*)?");

    private final List<int[]> lists;
    private final String source;

    private RealLabels(List<int[]> lists, String source) {
        this.lists = lists;
        this.source = source;
    }

    /** Label lists given directly (index = position in file-name order); {@code source} names them in messages. */
    public static RealLabels of(List<int[]> lists, String source) {
        List<int[]> copy = new ArrayList<>(lists.size());
        for (int[] l : lists) copy.add(l.clone());
        return new RealLabels(List.copyOf(copy), source);
    }

    /** Reads {@code real.json}: a JSON list of lists of non-negative integers. */
    public static RealLabels load(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (JsonParseException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.io.FileNotFoundException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        if (root == null || !root.isArray())
            throw new IOException(file + ": expected a JSON list of label lists (real.json), found "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
        List<int[]> lists = new ArrayList<>(root.size());
        for (int i = 0; i < root.size(); ++i) {
            JsonNode l = root.get(i);
            if (!l.isArray())
                throw new IOException(file + ": entry " + i + " is " + l.getNodeType().toString().toLowerCase()
                        + ", not a list of class ids");
            int[] ids = new int[l.size()];
            for (int j = 0; j < ids.length; ++j) {
                JsonNode v = l.get(j);
                if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0)
                    throw new IOException(file + ": entry " + i + " holds '" + v + "', not a class id (an integer >= 0)");
                ids[j] = v.intValue();
            }
            lists.add(ids);
        }
        return new RealLabels(List.copyOf(lists), file.toString());
    }

    /** Number of lists (50,000 for ImageNet). */
    public int size() {
        return lists.size();
    }

    /** The i-th list (of the i-th image in file-name order). */
    public int[] labels(int i) {
        return lists.get(i).clone();
    }

    /** Lists that are empty (images left out of ReaL accuracy). */
    public int emptyLists() {
        int e = 0;
        for (int[] l : lists) e += l.length == 0 ? 1 : 0;
        return e;
    }

    /** ReaL counts: n evaluated images with a non-empty list, of which top1Correct / top5Correct are right. */
    public record Result(int lists, int emptyLists, int notEvaluated, int n, int top1Correct, int top5Correct) {
        public double top1() {
            return n == 0 ? Double.NaN : (double) top1Correct / n;
        }

        public double top5() {
            return n == 0 ? Double.NaN : (double) top5Correct / n;
        }
    }

    /**
     * For each sample of {@code p} (dataset order), its list's index: the rank of its file name among all the
     * dataset's file names. Throws IllegalArgumentException when the lists and the dataset do not match.
     */
    public int[] align(Predictions p) {
        int n = p.size();
        if (n != lists.size())
            throw new IllegalArgumentException(source + " holds " + lists.size() + " label lists (one per validation "
                    + "image in file-name order) but the dataset has " + n + " images: ReaL labels need exactly the "
                    + "images they were made for (the whole ImageNet validation set)");
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; ++i) order[i] = i;
        Comparator<String> byCodePoint = RealLabels::compareCodePoints;
        Arrays.sort(order, (a, b) -> byCodePoint.compare(p.fileName(a), p.fileName(b)));
        int[] rank = new int[n];
        boolean allValNames = true;
        for (int r = 0; r < n; ++r) {
            String name = p.fileName(order[r]);
            if (r > 0 && name.equals(p.fileName(order[r - 1])))
                throw new IllegalArgumentException("two images are named " + name + " (" + p.key(order[r - 1]) + " and "
                        + p.key(order[r]) + "): ReaL labels are matched by file name");
            rank[order[r]] = r;
            allValNames &= VAL_NAME.matcher(name).matches();
        }
        if (allValNames) {
            for (int r = 0; r < n; ++r) {
                Matcher m = VAL_NAME.matcher(p.fileName(order[r]));
                m.matches();
                int number = Integer.parseInt(m.group(1));
                if (number != r + 1)
                    throw new IllegalArgumentException("validation image " + p.fileName(order[r]) + " is number " + (r + 1)
                            + " in file-name order: the dataset is not the ImageNet validation set " + source
                            + " was made for (ILSVRC2012_val_00000001 to ILSVRC2012_val_" + String.format("%08d", n)
                            + ")");
            }
        }
        return rank;
    }

    /** ReaL top-1 / top-5 of {@code p}; see the class comment. */
    public Result evaluate(Predictions p) {
        int[] rank = align(p);
        int n = 0, c1 = 0, c5 = 0, missing = 0;
        for (int i = 0; i < p.size(); ++i) {
            int[] valid = lists.get(rank[i]);
            if (valid.length == 0) continue;
            if (!p.evaluated(i)) {
                ++missing;
                continue;
            }
            ++n;
            boolean hit1 = false, hit5 = false;
            int[] top = p.topK(i);
            for (int r = 0; r < Math.min(5, top.length); ++r) {
                for (int v : valid) {
                    if (top[r] == v) {
                        hit5 = true;
                        if (r == 0) hit1 = true;
                    }
                }
            }
            if (hit1) ++c1;
            if (hit5) ++c5;
        }
        return new Result(lists.size(), emptyLists(), missing, n, c1, c5);
    }

    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }
}
