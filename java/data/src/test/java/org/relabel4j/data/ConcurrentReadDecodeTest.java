package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.image.DecodedImage;
import org.relabel4j.data.image.Dims;
import org.relabel4j.data.image.ImageDecoder;
import org.relabel4j.data.image.TestImages;

/** Several threads reading and decoding samples of one dataset at once (tar shards and an image folder). */
class ConcurrentReadDecodeTest {
    @TempDir
    Path tmp;

    /** Image i: a solid color derived from i, size derived from i, JPEG or PNG. */
    private static int color(int i) {
        return ((i * 53) % 256) << 16 | ((i * 97) % 256) << 8 | ((i * 31 + 64) % 256);
    }

    private static byte[] image(int i) {
        int w = 40 + (i * 13) % 90, h = 30 + (i * 29) % 70;
        return i % 3 == 0 ? TestImages.png(w, h, (x, y) -> color(i)) : TestImages.jpeg(w, h, (x, y) -> color(i),
                org.bytedeco.opencv.global.opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 98);
    }

    @Test
    void threadsReadAndDecodeTheSameDatasets() throws Exception {
        int n = 60;
        Map<String, Integer> imageOfKey = new LinkedHashMap<>();
        List<Map<String, byte[]>> shards = new ArrayList<>();
        for (int s = 0; s < 3; s++) shards.add(new LinkedHashMap<>());
        Path folder = tmp.resolve("folder");
        for (int i = 0; i < n; i++) {
            byte[] b = image(i);
            String ext = i % 3 == 0 ? ".png" : ".jpg";
            String key = String.format("c%d/img%03d", i % 4, i);
            imageOfKey.put(key, i);
            shards.get(i % 3).put(key + ext, b);
            shards.get(i % 3).put(key + ".cls", Integer.toString(i % 4).getBytes());
            Files.createDirectories(folder.resolve("c" + i % 4));
            Files.write(folder.resolve(key + ext), b);
        }
        for (int s = 0; s < 3; s++) TarShardsTest.writeTar(tmp.resolve("sh-" + s + ".tar"), shards.get(s));
        List<Dataset> datasets = List.of(TarShards.open(tmp + "/sh-{0..2}.tar"), ImageFolder.open(folder));
        ImageDecoder decoder = new ImageDecoder();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (Dataset d : datasets) {
                assertEquals(n, d.size());
                List<Callable<Integer>> tasks = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    long seed = t;
                    tasks.add(() -> {
                        Random r = new Random(seed);
                        int checked = 0;
                        for (int k = 0; k < 60; k++) {
                            int idx = r.nextInt(d.size());
                            Sample s = d.sample(idx);
                            int i = imageOfKey.get(s.key());
                            assertEquals(i % 4, s.label(), s.origin());
                            byte[] bytes = d.read(idx);
                            Dims dims = decoder.probe(bytes, s.origin());
                            int reduction = 1 << r.nextInt(4);
                            try (DecodedImage img = decoder.decode(bytes, reduction, s.origin())) {
                                int rr = img.reduction();
                                assertEquals((dims.width() + rr - 1) / rr, img.width(), s.origin());
                                assertEquals((dims.height() + rr - 1) / rr, img.height(), s.origin());
                                byte[] rgb = img.toRgbBytes();
                                int c = (img.height() / 2 * img.width() + img.width() / 2) * 3;
                                int want = color(i);
                                assertTrue(Math.abs((rgb[c] & 0xFF) - (want >> 16 & 0xFF)) <= 4, s.origin() + " red");
                                assertTrue(Math.abs((rgb[c + 1] & 0xFF) - (want >> 8 & 0xFF)) <= 4, s.origin() + " green");
                                assertTrue(Math.abs((rgb[c + 2] & 0xFF) - (want & 0xFF)) <= 4, s.origin() + " blue");
                            }
                            checked++;
                        }
                        return checked;
                    });
                }
                int total = 0;
                for (Future<Integer> f : pool.invokeAll(tasks)) total += f.get();
                assertEquals(8 * 60, total);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
