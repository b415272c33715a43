package org.relabel4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntBinaryOperator;
import java.util.function.IntPredicate;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.nd.DType;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStoreWriter;

/** Generated training data: three classes (blue, green, red) of noisy 40x40 JPEGs, 32 train and 8 val per class. */
public final class TrainData {
    public static final String[] CLASSES = {"blue", "green", "red"};
    static final int[] COLORS = {0x2030C0, 0x20B030, 0xC03020};

    private TrainData() {}

    /** Writes {@code root/train/<class>/*.jpg} and {@code root/val/<class>/*.jpg}. */
    public static void write(Path root) throws IOException {
        Random rnd = new Random(5);
        for (String split : new String[] {"train", "val"}) {
            int n = split.equals("train") ? 32 : 8;
            for (int c = 0; c < 3; ++c) {
                for (int i = 0; i < n; ++i) {
                    int base = COLORS[c];
                    long seed = rnd.nextLong();
                    byte[] jpeg = TestImages.jpeg(40, 40, (x, y) -> {
                        Random r = new Random(seed ^ (x * 131L + y));
                        int v = 0;
                        for (int k = 0; k < 3; ++k) {
                            int ch = (base >> (8 * k)) & 255;
                            ch = Math.max(0, Math.min(255, ch + r.nextInt(120) - 60));
                            v |= ch << (8 * k);
                        }
                        return v;
                    });
                    Path f = root.resolve(split + "/" + CLASSES[c] + "/" + split + c + "_" + i + ".jpg");
                    Files.createDirectories(f.getParent());
                    Files.write(f, jpeg);
                }
            }
        }
    }

    /**
     * A store over {@code root/train} whose maps put {@code mapClass(label, i)} on top everywhere (k = 2, 4x4 cells;
     * the second class, the next one, scores lower and varies across cells).
     */
    public static Path store(Path root, Path out, IntBinaryOperator mapClass) throws IOException {
        return store(root, out, mapClass, i -> true);
    }

    /** {@link #store(Path, Path, IntBinaryOperator)} with maps for the training images {@code i} that {@code keep}s. */
    public static Path store(Path root, Path out, IntBinaryOperator mapClass, IntPredicate keep) throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root.resolve("train"));
        MapFormat f = new MapFormat(3, 2, 4, 4, DType.FLOAT16, DType.UINT16);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            for (int i = 0; i < ds.size(); ++i) {
                if (!keep.test(i)) continue;
                int top = mapClass.applyAsInt(ds.sample(i).label(), i);
                float[] scores = new float[2 * 16];
                int[] ids = new int[2 * 16];
                for (int cell = 0; cell < 16; ++cell) {
                    scores[cell] = 4f;
                    ids[cell] = top;
                    scores[16 + cell] = 1f + cell / 16f;
                    ids[16 + cell] = (top + 1) % 3;
                }
                w.append(ds.sample(i).key(), scores, ids);
            }
            w.finish();
        }
        return out;
    }

    /**
     * Multi-label lists {@code train/ml.txt} and {@code val/ml.txt} over the images of {@link #write} under
     * {@code root} ({@code multilist:} specs, keys as the ImageFolder's, so the same store serves both): image i of
     * class c has label c, and on even i also (c + 1) % 3 (a second "object").
     */
    public static void writeMultiList(Path root) throws IOException {
        for (String split : new String[] {"train", "val"}) {
            Dataset ds = Datasets.open("imagefolder:" + root.resolve(split));
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < ds.size(); ++i) {
                int c = ds.sample(i).label();
                String rel = root.resolve(split).relativize(Path.of(ds.sample(i).origin())).toString();
                lines.add(rel + "\t" + c + (i % 2 == 0 ? "," + (c + 1) % 3 : ""));
            }
            Files.write(root.resolve(split).resolve("ml.txt"), lines);
        }
    }
}
