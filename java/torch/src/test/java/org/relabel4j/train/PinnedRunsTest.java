package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.torch.Torch;

/**
 * Short runs of every target recipe on the tiny preset, whose metrics.jsonl (without the timing and memory fields)
 * must equal the records pinned in {@code pinned-runs.json}: a change of the trainer's structure may not change
 * a single bit of what it computes. The pinned records were made on the code before the trainer was split into
 * parts (issue 19); the dense (issue 17) and multi-label (issue 16) recipes were added later, pinned on another
 * machine (the 2-core CI VM), whose exact bits the comparison below demands only where the fingerprint matches.
 * Re-pinned on 2026-12-06 on a CI VM of another CPU model (AMD family 26) after the CPU joined the fingerprint: 12 of
 * the 86 records changed, all in the dense and multi-label CutMix recipes, by at most 1.1e-7 (relative).
 *
 * <p>Bit equality holds on the platform the records were made on (the fingerprint: CPU architecture, LibTorch's
 * vectorization level, the oneDNN cap, the LibTorch build, the CPU's vendor, family and model); elsewhere kernels
 * may round differently, so the test says so and compares losses and rates to 1e-3 (relative) instead, which any
 * change of a recipe still exceeds.
 *
 * <p>To re-pin after an intended change of the numbers: {@code mvn -pl java/torch test -Dtest=PinnedRunsTest
 * -Drelabel.pin.write=/tmp/pinned-runs.json}, review the difference, and copy the file over the resource.
 */
class PinnedRunsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Fields that measure the machine, not the computation. */
    static final Set<String> TIMING = Set.of("images_per_s", "data_ms", "compute_ms", "rss_mb", "epoch_seconds",
            "data_seconds", "compute_seconds", "peak_rss_mb", "peak_device_mb", "allreduce_ms");

    /** Validation metrics that, like top-k, move with the losses' last bits on another platform. */
    static final Set<String> APPROX_METRICS = Set.of("val_map", "val_cf1", "val_of1");

    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
        TrainData.writeMultiList(data);
    }

    /** 96 images in batches of 32: 3 steps per epoch, 2 epochs (the first warms up), validation after each. */
    TrainConfig config(Path out, List<String> recipe) throws IOException {
        List<String> o = new ArrayList<>(List.of("data.train=imagefolder:" + data.resolve("train"),
                "data.val=imagefolder:" + data.resolve("val"), "util.out=" + out, "model.width=8", "data.image_size=24",
                "optim.batch_size=32", "optim.epochs=2", "optim.warmup.epochs=1", "optim.warmup.lr=0.01",
                "optim.lr.init=0.1", "compute.threads=1", "compute.num_workers=2", "util.print_freq=1",
                "util.val_batch_size=24", "compute.seed=3"));
        o.addAll(recipe);
        return TrainConfig.load("tiny", null, o);
    }

    /** The pinned recipes, in run order (the KD run distills from the one-hot run's model). */
    Map<String, List<String>> recipes(Path maps, Path teacher) {
        String store = "data.relabel.path=" + maps;
        List<String> cutmix = List.of("data.cutmix.prob=1.0", "data.cutmix.beta=1.0", "data.cutmix.off_epoch=0");
        Map<String, List<String>> r = new LinkedHashMap<>();
        r.put("onehot", List.of());
        r.put("label_smoothing", List.of("optim.label_smoothing=0.1"));
        r.put("relabel_gt_mix", List.of("data.relabel.use=true", store, "data.relabel.gt_mix=0.3"));
        r.put("cutmix", cutmix);
        List<String> chain = new ArrayList<>(List.of("data.relabel.use=true", store, "data.relabel.gt_mix=0.3",
                "optim.label_smoothing=0.1"));
        chain.addAll(cutmix);
        r.put("relabel_gt_mix_smoothing_cutmix", chain);
        r.put("relabel_probs_official", List.of("data.relabel.use=true", store, "data.relabel.mode=probs",
                "data.relabel.temperature=0.5", "data.relabel.box_order=official"));
        List<String> kd = new ArrayList<>(List.of("kd.use=true", "kd.teacher_arch=small-cnn",
                "kd.teacher_checkpoint=" + teacher, "kd.temperature=2.0"));
        kd.addAll(cutmix);
        r.put("kd_cutmix", kd);
        r.put("label_cleaning", List.of("data.label_cleaning.use=true", store));
        List<String> dense = new ArrayList<>(List.of("data.relabel.use=true", store, "data.relabel.dense=true",
                "data.relabel.gt_mix=0.3"));
        dense.addAll(cutmix);
        r.put("relabel_dense_gt_mix_cutmix", dense);
        List<String> multilabel = new ArrayList<>(List.of("train.task=multilabel",
                "data.train=multilist:" + data.resolve("train/ml.txt"), "data.val=multilist:" + data.resolve("val/ml.txt")));
        multilabel.addAll(cutmix);
        r.put("multilabel_multihot_cutmix", multilabel);
        List<String> pooled = new ArrayList<>(multilabel);
        pooled.addAll(List.of("data.relabel.use=true", store, "data.relabel.multilabel_target=sigmoid",
                "data.relabel.temperature=2.0"));
        r.put("multilabel_relabel_sigmoid_cutmix", pooled);
        return r;
    }

    static ObjectNode fingerprint() {
        ObjectNode f = JSON.createObjectNode();
        f.put("os_arch", System.getProperty("os.arch"));
        f.put("libtorch", Torch.presetVersion());
        f.put("cpu_capability", torch.get_cpu_capability().getString());
        f.put("onednn_isa_cap", String.valueOf(Torch.oneDnnIsaCap()));
        f.put("cpu", cpuModel());
        return f;
    }

    /**
     * Vendor, family and model of the CPU (/proc/cpuinfo), or "unknown": the same ISA on another CPU model may round
     * differently (measured 2026-12-06: a loss of the dense recipe moved in its 8th digit between two AVX-512 VMs with
     * the same cpu_capability and oneDNN cap, the second an AMD family 26), as kernels pick their blocking by the CPU.
     */
    static String cpuModel() {
        try {
            String vendor = null, family = null, model = null;
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    if (vendor != null) break;  // the first processor's block
                    continue;
                }
                String k = line.substring(0, colon).strip(), v = line.substring(colon + 1).strip();
                if (k.equals("vendor_id")) vendor = v;
                else if (k.equals("cpu family")) family = v;
                else if (k.equals("model")) model = v;
            }
            return vendor == null ? "unknown" : vendor + " family " + family + " model " + model;
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The run's records without the timing and memory fields. */
    static ArrayNode records(Path run) throws IOException {
        ArrayNode out = JSON.createArrayNode();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            ObjectNode n = (ObjectNode) JSON.readTree(line);
            n.remove(TIMING);
            out.add(n);
        }
        return out;
    }

    @Test
    void everyRecipeComputesThePinnedLosses() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> i % 5 == 0 ? (label + 1) % 3 : label);
        Map<String, List<String>> recipes = recipes(maps, tmp.resolve("onehot").resolve("model.pth"));
        ObjectNode got = JSON.createObjectNode();
        got.set("fingerprint", fingerprint());
        ObjectNode runs = got.putObject("runs");
        for (Map.Entry<String, List<String>> e : recipes.entrySet()) {
            Path out = tmp.resolve(e.getKey());
            new Trainer(config(out, e.getValue()), null, null).run(null);
            runs.set(e.getKey(), records(out));
        }
        String write = System.getProperty("relabel.pin.write");
        if (write != null && !write.isEmpty()) {
            Files.writeString(Path.of(write), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(got) + "\n");
            System.out.println("[pinned-runs] wrote " + write);
        }
        JsonNode pinned;
        try (InputStream in = getClass().getResourceAsStream("pinned-runs.json")) {
            assertNotNull(in, "the resource org/relabel4j/train/pinned-runs.json");
            pinned = JSON.readTree(in);
        }
        boolean exact = pinned.get("fingerprint").equals(got.get("fingerprint"));
        if (!exact)
            System.out.println("[pinned-runs] this platform " + got.get("fingerprint") + " is not the pinned one "
                    + pinned.get("fingerprint") + ": comparing losses and rates to 1e-3 instead of bit for bit");
        assertEquals(iterable(pinned.get("runs").fieldNames()), iterable(runs.fieldNames()), "the recipes");
        for (String name : iterable(runs.fieldNames())) {
            JsonNode a = pinned.get("runs").get(name), b = runs.get(name);
            assertEquals(a.size(), b.size(), name + ": record count");
            for (int i = 0; i < a.size(); ++i) {
                if (exact) assertEquals(a.get(i), b.get(i), name + ": record " + i);
                else near(a.get(i), b.get(i), name + ": record " + i);
            }
        }
    }

    private static void near(JsonNode a, JsonNode b, String where) {
        assertEquals(iterable(a.fieldNames()), iterable(b.fieldNames()), where);
        for (String k : iterable(a.fieldNames())) {
            if (!k.contains("loss") && !k.equals("lr")) {
                if (!k.contains("top") && !APPROX_METRICS.contains(k)) assertEquals(a.get(k), b.get(k), where + " " + k);
                continue;
            }
            double x = a.get(k).asDouble(), y = b.get(k).asDouble();
            assertTrue(Math.abs(x - y) <= 1e-3 * Math.max(1e-6, Math.abs(x)), where + " " + k + ": " + x + " vs " + y);
        }
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
