package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.model.LogitsAndDense;
import org.relabel4j.model.ModelOptions;
import org.relabel4j.model.SmallCnn;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.TestTensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.train.objective.Autocast;
import org.relabel4j.train.objective.DenseTargetObjective;
import org.relabel4j.train.objective.Losses;
import org.relabel4j.train.objective.ModelOutputs;
import org.relabel4j.train.targets.StepBatch;
import org.relabel4j.train.targets.TargetPipeline;

/**
 * Dense LabelPooling supervision ({@code data.relabel.dense}) end to end: the dense loss reaches the backbone, a
 * run trains with it (its loss is the global one plus the weighted dense one), stops and resumes to the same
 * numbers, and a dense size that is not the student's map size fails with a clear message.
 */
class DenseSupervisionTest {
    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    static TrainConfig config(Path out, List<String> more) throws IOException {
        List<String> o = new ArrayList<>(List.of("data.train=imagefolder:" + data.resolve("train"),
                "data.val=imagefolder:" + data.resolve("val"), "util.out=" + out, "model.width=8", "data.image_size=24",
                "optim.batch_size=16", "optim.epochs=3", "optim.lr.init=0.1", "compute.threads=1",
                "compute.num_workers=2", "util.print_freq=1", "util.val_batch_size=24"));
        o.addAll(more);
        return TrainConfig.load("tiny", null, o);
    }

    @Test
    void theDenseLossReachesTheBackboneAndAddsToTheGlobalOne() {
        try (SmallCnn model = new SmallCnn(3, ModelOptions.defaults().withWidth(8).withSeed(1L));
                PointerScope scope = new PointerScope()) {
            Tensor images = torch.randn(2, 3, 24, 24);
            LogitsAndDense both = model.forwardWithDense(images);
            assertArrayEquals(new long[] {2, 3, 3, 3}, Tensors.shape(both.dense()));
            assertTrue(torch.allclose(both.logits(), model.forward(images), 1e-5, 1e-6, false), "the logits of the forward pass");
            assertTrue(torch.allclose(both.dense().mean(new long[] {2, 3}), both.logits(), 1e-5, 1e-5, false),
                    "the dense logits pool to the logits (a linear head)");

            // The dense term alone: its gradient reaches the first convolution.
            Tensor targets = torch.rand(2, 3, 3, 3).softmax(1);
            DenseTargetObjective.denseCrossEntropy(both.dense(), targets).backward();
            Tensor grad = model.namedParameters().get("conv1.weight").grad();
            assertTrue(grad.defined() && grad.abs().sum().item_double() > 0, "the backbone gets a gradient");

            // The objective: global CE + weight * per-cell CE averaged over the batch and the cells.
            Tensor global = torch.rand(2, 3).softmax(1);
            StepBatch sb = new StepBatch(null, images, Tensors.fromNdArray(NdArray.of(new long[] {0, 1})), null, 3);
            DenseTargetObjective objective = new DenseTargetObjective(TargetPipeline.of(b -> global, 0, 0, null),
                    TargetPipeline.of(b -> targets, 0, 0, null), 0.5);
            ModelOutputs outputs = ModelOutputs.forward(model, images, objective.outputs(), Autocast.OFF);
            double expected = Losses.softTargetCrossEntropy(outputs.logits(), global).item_double();
            double cells = 0;
            float[] logp = TestTensors.values(outputs.dense().log_softmax(1)), t = TestTensors.values(targets);
            for (int i = 0; i < t.length; ++i) cells -= (double) t[i] * logp[i];  // 2 x 3 x 3 cells, 3 classes
            expected += 0.5 * cells / 18;
            assertEquals(expected, objective.loss(sb, outputs).item_double(), 1e-5);
            assertThrows(IllegalArgumentException.class, () -> new DenseTargetObjective(objective.global(),
                    objective.dense(), 0));
            // Targets of another size than the map: a clear error.
            DenseTargetObjective wrong = new DenseTargetObjective(objective.global(),
                    TargetPipeline.of(b -> torch.rand(2, 3, 5, 5), 0, 0, null), 0.5);
            var e = assertThrows(IllegalArgumentException.class, () -> wrong.loss(sb, outputs));
            assertTrue(e.getMessage().contains("dense_size"), e.getMessage());
        }
    }

    static List<String> recipe(Path maps) {
        return List.of("data.relabel.use=true", "data.relabel.path=" + maps, "data.relabel.dense=true",
                "data.cutmix.prob=0.5", "data.cutmix.beta=1.0", "data.cutmix.off_epoch=1", "optim.warmup.epochs=1");
    }

    static List<JsonNode> records(Path run, String kind) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = PinnedRunsTest.JSON.readTree(line);
            if (n.get("kind").asText().equals(kind)) out.add(n);
        }
        return out;
    }

    @Test
    void aDenseRunTrainsStopsAndResumesToTheSameNumbers() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        Path whole = tmp.resolve("whole"), parts = tmp.resolve("parts"), global = tmp.resolve("global");
        TrainerTest.Lines log = new TrainerTest.Lines();
        Trainer.Result done = new Trainer(config(whole, recipe(maps)), log, null).run(null);
        assertTrue(log.has("dense supervision: 3 x 3 LabelPooling targets"), String.join("\n", log.lines));
        assertTrue(log.has("+ dense dense ReLabel (S x S LabelPooling)"), String.join("\n", log.lines));
        assertTrue(done.valTop1() > 60, "maps of the label teach the label: " + done.valTop1());

        // The same run without the dense term: the same first batch, a smaller loss (the dense CE is positive).
        List<String> noDense = new ArrayList<>(recipe(maps));
        noDense.remove("data.relabel.dense=true");
        new Trainer(config(global, noDense), null, null).run(null);
        double denseLoss = records(whole, "step").get(0).get("loss").asDouble();
        double globalLoss = records(global, "step").get(0).get("loss").asDouble();
        assertTrue(denseLoss > globalLoss * 1.2, denseLoss + " vs " + globalLoss);

        List<String> stop = new ArrayList<>(recipe(maps));
        stop.add("util.max_steps=8");  // mid-epoch 2 (6 steps per epoch)
        Trainer.Result first = new Trainer(config(parts, stop), null, null).run(null);
        assertTrue(first.stoppedByMaxSteps());
        TrainConfig resumed = Trainer.resumeConfig(parts, List.of("util.max_steps=0"));
        Trainer.Result second = new Trainer(resumed, null, null).run(parts);
        assertEquals(18, second.steps());
        List<JsonNode> a = records(whole, "step"), b = records(parts, "step");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); ++i)
            assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 0.0, "step " + i);
        List<JsonNode> ea = records(whole, "epoch"), eb = records(parts, "epoch");
        for (int i = 0; i < 3; ++i)
            assertEquals(ea.get(i).get("val_top1").asDouble(), eb.get(i).get("val_top1").asDouble(), 0.0);
        assertArrayEquals(Files.readAllBytes(whole.resolve("model.pth")), Files.readAllBytes(parts.resolve("model.pth")));
    }

    @Test
    void aDenseSizeThatIsNotTheStudentsMapSizeIsRefused() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        List<String> r = new ArrayList<>(recipe(maps));
        r.add("data.relabel.dense_size=7");
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("bad"), r), null, null)
                .run(null));
        assertTrue(e.getMessage().contains("data.relabel.dense_size 7") && e.getMessage().contains("3 x 3")
                && e.getMessage().contains("data.image_size 24"), e.getMessage());
        // The student's own size is accepted.
        List<String> ok = new ArrayList<>(recipe(maps));
        ok.addAll(List.of("data.relabel.dense_size=3", "util.max_steps=1", "util.checkpoint_every=0"));
        new Trainer(config(tmp.resolve("ok"), ok), null, null).run(null);
        // Without ReLabel there is nothing to pool.
        var c = assertThrows(IllegalArgumentException.class, () -> config(tmp.resolve("x"),
                List.of("data.relabel.dense=true")));
        assertTrue(c.getMessage().contains("data.relabel.dense"), c.getMessage());
    }
}
