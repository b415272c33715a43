package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.torch.TestTensors.tensor;
import static org.relabel4j.torch.TestTensors.values;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.data.Dataset;
import org.relabel4j.data.Datasets;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.ops.LabelPooling;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.objective.Losses;
import org.relabel4j.train.targets.MultiLabelPooledTargets;
import org.relabel4j.train.targets.MultiLabelPooledTargets.Kind;

/**
 * Multi-label training: the BCE targets of crops that include, cut or miss an object (pooled from hand-made maps),
 * the loss against its definition, and short runs of the baseline and the ReLabel targets through the Trainer with
 * CutMix and mAP validation.
 */
class MultiLabelTrainingTest {
    @TempDir
    static Path data;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
        TrainData.writeMultiList(data);  // image c/i: its class, and the next class on even i
    }

    /** A 1 x 4 x 4 top-1 map: class {@code left} scoring {@code l} in columns 0-1, class {@code right} scoring {@code r} in 2-3. */
    static NdArray[] map(int left, float l, int right, float r) {
        float[] s = new float[16];
        int[] ids = new int[16];
        for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 4; ++x) {
                s[y * 4 + x] = x < 2 ? l : r;
                ids[y * 4 + x] = x < 2 ? left : right;
            }
        return new NdArray[] {NdArray.of(s, 1, 1, 4, 4), NdArray.of(ids, 1, 1, 4, 4)};
    }

    /** The pooled raw scores [1,3] of crop (x1, 0, x2, 1). */
    static Tensor pooled(NdArray[] m, float x1, float x2) {
        LabelPooling p = LabelPooling.builder(3).softmax(false).warnings(w -> {}).build();
        return Tensors.fromNdArray(p.apply(m[0], m[1], NdArray.of(new float[] {x1, 0, x2, 1}, 1, 4), null));
    }

    @Test
    void oracleTargetsAreTheCoveredFractionOfTheCrop() {
        try (PointerScope scope = new PointerScope()) {
            // class 1 covers the left half of the image (covered fraction 1 there), nothing else is present
            NdArray[] m = map(1, 1f, 1, 0f);
            float[] include = values(MultiLabelPooledTargets.transform(pooled(m, 0f, 0.5f), Kind.VALUE, 1, 0));
            float[] cut = values(MultiLabelPooledTargets.transform(pooled(m, 0.25f, 0.75f), Kind.VALUE, 1, 0));
            float[] whole = values(MultiLabelPooledTargets.transform(pooled(m, 0f, 1f), Kind.VALUE, 1, 0));
            float[] miss = values(MultiLabelPooledTargets.transform(pooled(m, 0.5f, 1f), Kind.VALUE, 1, 0));
            assertEquals(List.of(0f, 1f, 0f), List.of(include[0], include[1], include[2]), "a crop inside the object");
            assertEquals(0.5f, cut[1], 1e-6f, "a crop half on the object");
            assertEquals(0.5f, whole[1], 1e-6f, "the whole image: half covered");
            assertEquals(List.of(0f, 0f, 0f), List.of(miss[0], miss[1], miss[2]), "a crop that misses the object");
            float[] binary = values(MultiLabelPooledTargets.transform(pooled(m, 0.25f, 0.75f), Kind.VALUE, 1, 0.6));
            assertEquals(0f, binary[1], "0.5 is below the threshold 0.6");
        }
    }

    @Test
    void teacherTargetsAreTheSigmoidOfThePooledLogit() {
        try (PointerScope scope = new PointerScope()) {
            // a teacher's map: class 1 (logit 3) on the left, class 0 (logit 2) on the right
            NdArray[] m = map(1, 3f, 0, 2f);
            float[] left = values(MultiLabelPooledTargets.transform(pooled(m, 0f, 0.5f), Kind.SIGMOID, 1, 0));
            assertEquals(sigmoid(3), left[1], 1e-6f);
            assertEquals(0f, left[0], "class 0 is in no sampled cell's top-k: 0, not sigmoid(0)");
            assertEquals(0f, left[2]);
            float[] whole = values(MultiLabelPooledTargets.transform(pooled(m, 0f, 1f), Kind.SIGMOID, 2, 0));
            assertEquals(sigmoid(1.5 / 2), whole[1], 1e-6f, "the pooled logit 1.5 at temperature 2");
            assertEquals(sigmoid(1.0 / 2), whole[0], 1e-6f);
            float[] binary = values(MultiLabelPooledTargets.transform(pooled(m, 0f, 1f), Kind.SIGMOID, 1, 0.8));
            assertEquals(List.of(0f, 1f, 0f), List.of(binary[0], binary[1], binary[2]), "sigmoid(1.5) = 0.82, sigmoid(1) = 0.73");
        }
        assertThrows(IllegalArgumentException.class, () -> new MultiLabelPooledTargets(null, null, Kind.VALUE, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new MultiLabelPooledTargets(null, null, Kind.SIGMOID, 1, 1));
    }

    static float sigmoid(double z) {
        return (float) (1 / (1 + Math.exp(-z)));
    }

    @Test
    void bceIsTheMeanOverClassesAndBatch() {
        try (PointerScope scope = new PointerScope()) {
            float[] z = {2f, -1f, 0f, 40f, -40f, 0.5f};
            float[] t = {1f, 0f, 0.5f, 0f, 0f, 0.25f};
            double expected = 0;
            for (int i = 0; i < 6; ++i) {
                double p = 1 / (1 + Math.exp(-z[i]));
                // -t log p - (1 - t) log(1 - p), with log(1 - p) = -z - log(1 + exp(-z)) written stably
                double logP = -Math.log1p(Math.exp(-z[i])), log1mP = -z[i] - Math.log1p(Math.exp(-z[i]));
                if (z[i] < 0) {
                    logP = z[i] - Math.log1p(Math.exp(z[i]));
                    log1mP = -Math.log1p(Math.exp(z[i]));
                }
                expected += -t[i] * logP - (1 - t[i]) * log1mP;
            }
            expected /= 6;
            double loss = Losses.binaryCrossEntropyWithLogits(tensor(z, 2, 3), tensor(t, 2, 3)).item_double();
            assertEquals(expected, loss, 1e-5);
            assertTrue(Double.isFinite(loss), "stable at |z| = 40");
        }
    }

    TrainConfig config(Path out, String... recipe) throws IOException {
        List<String> o = new ArrayList<>(List.of("train.task=multilabel", "data.train=multilist:" + data.resolve("train/ml.txt"),
                "data.val=multilist:" + data.resolve("val/ml.txt"), "util.out=" + out, "model.width=8",
                "data.image_size=24", "optim.batch_size=32", "optim.epochs=2", "optim.warmup.epochs=1",
                "optim.warmup.lr=0.01", "optim.lr.init=0.1", "compute.threads=1", "compute.num_workers=2",
                "util.print_freq=1", "util.val_batch_size=24", "compute.seed=3", "data.cutmix.prob=0.5",
                "data.cutmix.beta=1.0"));
        o.addAll(List.of(recipe));
        return TrainConfig.load("tiny", null, o);
    }

    static List<JsonNode> epochs(Path out) throws IOException {
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("val_map")) r.add(n);
        }
        return r;
    }

    @Test
    void baselineAndReLabelTrainThroughTheTrainerWithMapValidation(@TempDir Path tmp) throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        String[][] recipes = {
            {},
            {"data.relabel.use=true", "data.relabel.path=" + maps},
            {"data.relabel.use=true", "data.relabel.path=" + maps, "data.relabel.multilabel_target=value",
                "data.relabel.threshold=0.5"},
        };
        List<String> lines = new ArrayList<>();
        for (int r = 0; r < recipes.length; ++r) {
            Path out = tmp.resolve("run" + r);
            Trainer.Result result = new Trainer(config(out, recipes[r]), new TrainListener() {
                @Override
                public void log(String line) {
                    lines.add(line);
                }
            }, null).run(null);
            assertEquals(2, result.epochsDone());
            assertTrue(Double.isFinite(result.lastLoss()) && result.lastLoss() > 0, "BCE loss " + result.lastLoss());
            List<JsonNode> e = epochs(out);
            assertEquals(2, e.size(), "mAP after each epoch");
            double map = e.get(1).get("val_map").asDouble();
            assertTrue(map > 0 && map <= 100, "val_map " + map);
            assertEquals(24, e.get(1).get("val_images").asInt());
            JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
            assertEquals(map, summary.get("val_map").asDouble(), 1e-9);
        }
        assertTrue(lines.stream().anyMatch(l -> l.contains("multi-label BCE on multi-hot")), String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.contains("sigmoid of the pooled logit")), String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.contains("val mAP")), String.join("\n", lines));
    }

    @Test
    void aSingleLabelTrainingSetIsRefused(@TempDir Path tmp) {
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("x"),
                "data.train=imagefolder:" + data.resolve("train"), "data.val="), null, null).run(null));
        assertTrue(e.getMessage().contains("multi-label training set"), e.getMessage());
    }
}
