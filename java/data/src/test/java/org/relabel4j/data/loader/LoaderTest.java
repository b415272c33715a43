package org.relabel4j.data.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.data.image.TestImages;
import org.relabel4j.data.transform.CropBox;
import org.relabel4j.data.transform.EvalTransform;
import org.relabel4j.data.transform.RandomResizedCrop;
import org.relabel4j.data.transform.TrainTransform;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.ops.MapFormat;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.store.LabelMapStoreWriter;

/** The loader end to end on JPEGs written by the test: geometry, determinism, sharding, corrupt files, targets. */
class LoaderTest {
    @TempDir
    Path tmp;

    Path root;
    static final String[] CLASSES = {"cat", "dog", "eel"};
    static final int[][] SIZES = {{320, 240}, {200, 300}, {500, 375}, {64, 64}, {640, 480}, {257, 511}, {300, 300}};

    /** R = x-gradient, G = y-gradient, B = class marker: every pixel says where it came from. */
    static TestImages.Pixels gradient(int w, int h, int cls) {
        return (x, y) -> (Math.round(255f * x / (w - 1)) << 16) | (Math.round(255f * y / (h - 1)) << 8) | (40 + 80 * cls);
    }

    @BeforeEach
    void writeDataset() throws IOException {
        root = tmp.resolve("train");
        for (int c = 0; c < CLASSES.length; ++c) {
            Path dir = Files.createDirectories(root.resolve(CLASSES[c]));
            for (int i = 0; i < SIZES.length; ++i) {
                int w = SIZES[i][0], h = SIZES[i][1];
                Files.write(dir.resolve(CLASSES[c] + "_" + i + ".jpg"), TestImages.jpeg(w, h, gradient(w, h, c), 1, 97));
            }
        }
    }

    static TrainTransform plainTrain(int size) {
        return new TrainTransform(size, RandomResizedCrop.imagenet(), true, null, null, null);
    }

    static List<Batch> epoch(Loader loader, int e) {
        List<Batch> out = new ArrayList<>();
        try (Loader.Epoch it = loader.epoch(e)) {
            while (it.hasNext()) out.add(it.next());
        }
        return out;
    }

    @Test
    void cropsShowTheirBoxAndFlip() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        int s = 32;
        try (Loader loader = Loader.builder(ds, plainTrain(s)).batchSize(5).workers(2).seed(3).build()) {
            int checked = 0;
            for (Batch b : epoch(loader, 0)) {
                for (int i = 0; i < b.size(); ++i) {
                    float[] box = new float[4];
                    for (int k = 0; k < 4; ++k) box[k] = b.boxes().getFloat(4L * i + k);
                    boolean flip = b.flips().getLong(i) != 0;
                    double errR = 0, errG = 0;
                    for (int v = 0; v < s; ++v) {
                        for (int u = 0; u < s; ++u) {
                            int src = flip ? s - 1 - u : u;
                            double fx = box[0] + (src + 0.5) / s * (box[2] - box[0]);  // normalized x of the sample
                            double fy = box[1] + (v + 0.5) / s * (box[3] - box[1]);
                            long at = (long) i * 3 * s * s + (long) v * s + u;
                            errR += Math.abs(b.images().getFloat(at) - fx);
                            errG += Math.abs(b.images().getFloat(at + (long) s * s) - fy);
                        }
                    }
                    // gradients span [0, 1] over the image: the pixels must sit where the box says (JPEG/resampling
                    // noise is a few hundredths)
                    assertTrue(errR / (s * s) < 0.03, "x-gradient off by " + errR / (s * s) + " for " + b.keys().get(i));
                    assertTrue(errG / (s * s) < 0.03, "y-gradient off by " + errG / (s * s) + " for " + b.keys().get(i));
                    int cls = (int) b.labels().getLong(i);
                    assertEquals((40 + 80 * cls) / 255f, b.images().getFloat((long) i * 3 * s * s + 2L * s * s + s * s / 2), 0.03);
                    ++checked;
                }
            }
            assertEquals(ds.size(), checked);
        }
    }

    @Test
    void sameSeedSameBatchesWhateverTheWorkers() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        TrainTransform t = TrainTransform.imagenet(24);
        List<Batch> a, b, c;
        try (Loader one = Loader.builder(ds, t).batchSize(4).workers(1).seed(11).build();
                Loader two = Loader.builder(ds, t).batchSize(4).workers(2).prefetch(3).seed(11).build()) {
            a = epoch(one, 0);
            b = epoch(two, 0);
            c = epoch(two, 1);
        }
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); ++i) {
            assertEquals(a.get(i).keys(), b.get(i).keys());
            assertEquals(a.get(i).images().buffer(), b.get(i).images().buffer(), "batch " + i + " pixels");
            assertArrayEquals(a.get(i).boxes().toFloatArray(), b.get(i).boxes().toFloatArray());
            assertArrayEquals(a.get(i).flips().toLongArray(), b.get(i).flips().toLongArray());
        }
        assertNotEquals(a.get(0).keys(), c.get(0).keys(), "epochs are reshuffled");
    }

    @Test
    void ranksCoverEverySampleOncePerEpoch() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        for (int epoch = 0; epoch < 2; ++epoch) {
            Set<String> seen = new HashSet<>();
            int total = 0;
            for (int rank = 0; rank < 3; ++rank) {
                try (Loader l = Loader.builder(ds, plainTrain(8)).batchSize(2).workers(1).seed(5).shard(rank, 3).build()) {
                    for (Batch b : epoch(l, epoch)) {
                        seen.addAll(b.keys());
                        total += b.size();
                    }
                }
            }
            assertEquals(ds.size(), total, "no sample twice");
            assertEquals(ds.size(), seen.size(), "every sample once");
        }
        assertThrows(IllegalArgumentException.class, () -> Loader.builder(ds, plainTrain(8)).shard(3, 3));
    }

    @Test
    void withDropLastEveryRankMakesTheSameNumberOfBatches() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);  // 21 samples: 4 ranks hold 6, 5, 5, 5 of an epoch
        Set<Integer> taken = new HashSet<>();
        for (int rank = 0; rank < 4; ++rank) {
            try (Loader l = Loader.builder(ds, plainTrain(8)).batchSize(1).workers(1).seed(5).shard(rank, 4)
                    .dropLast(true).build()) {
                assertEquals(5, l.batchesPerEpoch(), "rank " + rank + " steps in lockstep with the others");
                for (int i : l.order(1)) assertTrue(taken.add(i), "sample " + i + " on two ranks");
            }
            try (Loader l = Loader.builder(ds, plainTrain(8)).batchSize(1).workers(1).shard(rank, 4).build()) {
                assertEquals(rank == 0 ? 6 : 5, l.batchesPerEpoch(), "without dropLast every sample is loaded");
            }
        }
        assertEquals(ds.size(), taken.size());
    }

    @Test
    void corruptImagesAreSkippedAndNamedOrFailTheEpoch() throws IOException {
        Path broken = root.resolve("dog").resolve("broken.jpg");
        Files.write(broken, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 1, 2, 3, 4, 5});
        Dataset ds = Datasets.open("imagefolder:" + root);
        List<String> log = new ArrayList<>();
        int samples = 0, skipped = 0;
        try (Loader l = Loader.builder(ds, plainTrain(8)).batchSize(6).workers(2).seed(1).log(log::add).build()) {
            for (Batch b : epoch(l, 0)) {
                samples += b.size();
                skipped += b.skipped();
            }
            assertEquals(1, l.stats().skipped());
        }
        assertEquals(ds.size() - 1, samples);
        assertEquals(1, skipped);
        assertEquals(1, log.size());
        assertTrue(log.get(0).contains("broken.jpg"), log.get(0));
        try (Loader strict = Loader.builder(ds, plainTrain(8)).batchSize(6).workers(1).seed(1).strict(true).build()) {
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> epoch(strict, 0));
            assertTrue(e.getMessage().contains("broken.jpg"), e.getMessage());
        }
    }

    /** A store whose map of each sample puts the sample's own class on top everywhere. */
    Path writeStore(Dataset ds, Set<String> leaveOut) throws IOException {
        Path out = tmp.resolve("maps.rlm");
        MapFormat f = new MapFormat(10, 3, 5, 5, DType.FLOAT16, DType.UINT16);
        Random rnd = new Random(2);
        try (LabelMapStoreWriter w = LabelMapStoreWriter.create(out, f, Map.of())) {
            for (int i = 0; i < ds.size(); ++i) {
                String key = ds.sample(i).key();
                if (leaveOut.contains(key)) continue;
                int label = ds.sample(i).label();
                float[] scores = new float[3 * 25];
                int[] ids = new int[3 * 25];
                for (int cell = 0; cell < 25; ++cell) {
                    scores[cell] = 8 + rnd.nextFloat();
                    ids[cell] = label;
                    scores[25 + cell] = 2 + rnd.nextFloat();
                    ids[25 + cell] = 3 + (cell % 3);
                    scores[50 + cell] = 1 + rnd.nextFloat();
                    ids[50 + cell] = 6 + (cell % 4);
                }
                w.append(key, scores, ids);
            }
            w.finish();
        }
        return out;
    }

    @Test
    void batchesCarryTheirLabelPoolingTargets() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        java.nio.file.Path maps = writeStore(ds, Set.of());
        for (LabelMapStore.Residency how : LabelMapStore.Residency.values()) {
            try (LabelMapStore store = LabelMapStore.open(maps, how)) {
                LabelPooling pooling = LabelPooling.builder(10).softmax(true).build();
                List<String> info = new ArrayList<>();
                try (Loader l = Loader.builder(ds, plainTrain(16)).batchSize(4).workers(2).seed(9).labelMaps(store, pooling, false)
                        .info(info::add).build()) {
                    assertEquals(1, info.size(), info.toString());
                    assertTrue(info.get(0).startsWith("label maps " + maps.getFileName() + ": " + store.residencyDescription()),
                            info.get(0));
                    assertEquals(store.residency() != LabelMapStore.Residency.RAM, info.get(0).contains("prefetched (madvise WILLNEED)"),
                            info.get(0));
                    for (Batch b : epoch(l, 0)) {
                        for (int i = 0; i < b.size(); ++i) {
                            assertEquals(store.find(b.keys().get(i)), b.recordIndices().getLong(i), "key -> record");
                            int argmax = 0;
                            for (int c = 1; c < 10; ++c)
                                if (b.targets().getFloat(i * 10L + c) > b.targets().getFloat(i * 10L + argmax)) argmax = c;
                            assertEquals(b.labels().getLong(i), argmax, "the map's top class is the label");
                        }
                        NdArray direct = pooling.gather(store.records(), b.recordIndices(), b.boxes(), b.flips());
                        assertArrayEquals(direct.toFloatArray(), b.targets().toFloatArray(), 0f, "targets == the op on the same boxes");
                    }
                    assertTrue(l.stats().labelNanos() > 0 && l.stats().decoded() == ds.size(), l.stats().toString());
                }
            }
        }
    }

    @Test
    void tarShardsLoadLikeTheFolderTheyWereWrittenFrom() throws IOException {
        Dataset folder = Datasets.open("imagefolder:" + root);
        Map<String, byte[]> members = new java.util.LinkedHashMap<>();
        for (int i = 0; i < folder.size(); ++i) {
            members.put(folder.sample(i).key() + ".jpg", folder.read(i));
            members.put(folder.sample(i).key() + ".cls", String.valueOf(folder.sample(i).label()).getBytes());
        }
        org.relabel4j.data.TarShardsTest.writeTar(tmp.resolve("train-000000.tar"), members);
        Dataset tar = Datasets.open("tar:" + tmp.resolve("train-{000000..000000}.tar"));
        assertEquals(folder.size(), tar.size());
        Map<String, Long> labels = new java.util.HashMap<>();
        try (Loader l = Loader.builder(tar, plainTrain(16)).batchSize(5).workers(2).seed(1).build()) {
            for (Batch b : epoch(l, 0)) {
                for (int i = 0; i < b.size(); ++i) labels.put(b.keys().get(i), b.labels().getLong(i));
            }
        }
        assertEquals(folder.size(), labels.size());
        for (int i = 0; i < folder.size(); ++i)
            assertEquals(folder.sample(i).label(), labels.get(folder.sample(i).key()).intValue(), folder.sample(i).key());
    }

    @Test
    void missingLabelMapsFailUnlessAllowed() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        String gone = ds.sample(4).key();
        try (LabelMapStore store = LabelMapStore.open(writeStore(ds, Set.of(gone)))) {
            LabelPooling pooling = LabelPooling.builder(10).softmax(true).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Loader.builder(ds, plainTrain(8)).labelMaps(store, pooling, false).build());
            assertTrue(e.getMessage().contains("1 of " + ds.size() + " samples have no label map (e.g. " + gone + ")"),
                    e.getMessage());
            try (Loader l = Loader.builder(ds, plainTrain(8)).batchSize(ds.size()).shuffle(false).workers(1)
                    .labelMaps(store, pooling, true).build()) {
                Batch b = epoch(l, 0).get(0);
                assertEquals(-1, b.recordIndices().getLong(4));
                int label = (int) b.labels().getLong(4);
                for (int c = 0; c < 10; ++c) assertEquals(c == label ? 1f : 0f, b.targets().getFloat(4 * 10L + c), "one-hot");
                assertTrue(b.targets().getFloat(3 * 10L + (int) b.labels().getLong(3)) < 0.999f, "others are pooled");
            }
        }
    }

    @Test
    void uint8BatchesHoldTheSamePixels() throws IOException {
        Dataset ds = Datasets.open("imagefolder:" + root);
        List<Batch> f, u;
        try (Loader lf = Loader.builder(ds, plainTrain(12)).batchSize(7).workers(1).seed(4).build();
                Loader lu = Loader.builder(ds, plainTrain(12)).batchSize(7).workers(1).seed(4).pixels(Loader.Pixels.UINT8).build()) {
            f = epoch(lf, 0);
            u = epoch(lu, 0);
        }
        for (int b = 0; b < f.size(); ++b) {
            assertEquals(DType.UINT8, u.get(b).images().dtype());
            for (long i = 0; i < f.get(b).images().numel(); ++i)
                assertEquals(Math.round(f.get(b).images().getFloat(i) * 255), u.get(b).images().getLong(i));
        }
        assertThrows(IllegalArgumentException.class,
                () -> Loader.builder(ds, TrainTransform.imagenet(8)).pixels(Loader.Pixels.UINT8).build());
    }

    @Test
    void evalCropMatchesTorchvisionsResizeAndCenterCrop() throws IOException {
        EvalTransform t = EvalTransform.imagenet(224);
        // Resize(256): 500x375 -> 341x256; CenterCrop(224): left round(58.5) = 58, top 16; in the original image:
        assertEquals(new CropBox(85, 23, 328, 328, 500, 375), t.crop(500, 375));
        // Resize(256) upscales 64x64 to 256x256; the central 224 of it is the central 56 of the original.
        assertEquals(new CropBox(4, 4, 56, 56, 64, 64), t.crop(64, 64));
        Dataset ds = Datasets.open("imagefolder:" + root);
        try (Loader l = Loader.builder(ds, t).batchSize(30).shuffle(false).workers(1).build()) {
            Batch b = epoch(l, 0).get(0);
            assertEquals(224, b.images().shape(3));
            for (int i = 0; i < b.size(); ++i) assertEquals(0, b.flips().getLong(i));
            assertNull(b.targets());
        }
    }
}
