package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.store.LabelMapStore;
import org.relabel4j.torch.Torch;
import org.relabel4j.model.Models;
import org.relabel4j.model.StateDicts;

/**
 * The trainer end to end on generated JPEGs: three classes told apart by color (noisy), 32 training images per
 * class, a small CNN on 24 px crops. Every run here takes seconds on two cores.
 */
class TrainerTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    /** A store whose maps put {@code mapClass(label, i)} on top everywhere (k = 2, 4x4 cells). */
    static Path store(Path out, java.util.function.IntBinaryOperator mapClass) throws IOException {
        return TrainData.store(data, out, mapClass);
    }

    /** The tiny preset on the generated images, into {@code out}, with single-threaded compute (reproducible). */
    static TrainConfig config(Path out, String... overrides) throws IOException {
        List<String> o = new ArrayList<>(List.of("data.train=imagefolder:" + data.resolve("train"),
                "data.val=imagefolder:" + data.resolve("val"), "util.out=" + out, "model.width=8", "data.image_size=24",
                "optim.batch_size=16", "optim.epochs=3", "optim.lr.init=0.1", "compute.threads=1",
                "compute.num_workers=2", "util.print_freq=1", "util.val_batch_size=24"));
        o.addAll(List.of(overrides));
        return TrainConfig.load("tiny", null, o);
    }

    static List<JsonNode> records(Path run, String kind) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("kind").asText().equals(kind)) out.add(n);
        }
        return out;
    }

    static final class Lines implements TrainListener {
        final List<String> lines = new ArrayList<>();

        @Override
        public void log(String line) {
            lines.add(line);
        }

        boolean has(String part) {
            return lines.stream().anyMatch(l -> l.contains(part));
        }
    }

    @Test
    void aSmallCnnLearnsAndTheRunHasItsFiles() throws IOException {
        Path out = tmp.resolve("run");
        Lines log = new Lines();
        Trainer.Result r = new Trainer(config(out), log, null).run(null);
        assertEquals(3, r.epochsDone());
        assertEquals(3 * 6, r.steps());  // 96 images, batches of 16, drop_last
        assertFalse(r.stoppedByMaxSteps());
        List<JsonNode> epochs = records(out, "epoch");
        assertEquals(3, epochs.size());
        List<JsonNode> steps = records(out, "step");
        double first = steps.get(0).get("loss").asDouble(), last = epochs.get(2).get("train_loss").asDouble();
        assertTrue(first > 0.8, "it starts near log 3: " + first);
        assertTrue(last < 0.5 * first, "the loss falls: " + first + " -> " + last);
        assertTrue(epochs.get(2).get("train_loss").asDouble() < epochs.get(0).get("train_loss").asDouble());
        assertNotNull(r.valTop1());
        assertTrue(r.valTop1() > 60, "well above chance (33%) on the held-out images: " + r.valTop1());
        for (JsonNode e : epochs) {
            for (String k : new String[] {"images_per_s", "data_seconds", "compute_seconds", "peak_rss_mb", "val_top1", "val_top5", "lr"})
                assertTrue(e.has(k), k + " in " + e);
        }
        assertEquals(18, steps.size());
        for (JsonNode s : steps)
            for (String k : new String[] {"loss", "lr", "top1", "images_per_s", "data_ms", "compute_ms", "rss_mb"})
                assertTrue(s.has(k), k + " in " + s);
        // The files of a finished run.
        byte[] png = Files.readAllBytes(out.resolve("curves.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(18, summary.get("steps").asLong());
        assertTrue(summary.get("peak_host_mb").asDouble() > 10);
        assertTrue(Files.readString(out.resolve("config.yaml")).contains("small-cnn"));
        assertTrue(log.has("epoch 3:") && log.has("val top-1"), String.join("\n", log.lines));
        // model.pth is a torchvision-style state dict that the eval path loads (width inferred from it).
        try (var m = Models.load("small_cnn", out.resolve("model.pth"), 3)) {
            assertEquals(3, m.classes());
        }
        // The run directory is not overwritten by a new run.
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(out), null, null).run(null));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
    }

    @Test
    void resumedRunHasTheSameLossesAsAnUninterruptedOne() throws IOException {
        Path maps = store(tmp.resolve("maps.rlm"), (label, i) -> label);
        String[] recipe = {"data.relabel.use=true", "data.relabel.path=" + maps, "data.cutmix.prob=0.5",
                "data.cutmix.beta=1.0", "data.cutmix.off_epoch=1", "optim.warmup.epochs=1", "optim.nesterov=true"};
        Path whole = tmp.resolve("whole"), parts = tmp.resolve("parts");
        new Trainer(config(whole, recipe), null, null).run(null);

        List<String> stop = new ArrayList<>(List.of(recipe));
        stop.add("util.max_steps=8");  // mid-epoch 2 (6 steps per epoch)
        Trainer.Result first = new Trainer(config(parts, stop.toArray(String[]::new)), null, null).run(null);
        assertTrue(first.stoppedByMaxSteps());
        assertEquals(8, first.steps());
        JsonNode state = Checkpoint.readState(parts.resolve("checkpoint.rlc"));
        assertEquals(1, state.get("epoch").asInt());
        assertEquals(2, state.get("batch").asInt());
        assertFalse(Files.exists(parts.resolve("model.pth")), "no final model from a stopped run");

        TrainConfig resumed = Trainer.resumeConfig(parts, List.of("util.max_steps=0"));
        Lines log = new Lines();
        Trainer.Result second = new Trainer(resumed, log, null).run(parts);
        assertTrue(log.has("resumed"), String.join("\n", log.lines));
        assertEquals(18, second.steps());
        List<JsonNode> a = records(whole, "step"), b = records(parts, "step");
        assertEquals(a.size(), b.size(), "one record per step, none duplicated");
        for (int i = 0; i < a.size(); ++i) {
            assertEquals(a.get(i).get("step").asLong(), b.get(i).get("step").asLong());
            assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 1e-6, "step " + i);
            assertEquals(a.get(i).get("lr").asDouble(), b.get(i).get("lr").asDouble(), 1e-12, "step " + i);
        }
        List<JsonNode> ea = records(whole, "epoch"), eb = records(parts, "epoch");
        assertEquals(3, eb.size());
        for (int i = 0; i < 3; ++i) {
            assertEquals(ea.get(i).get("train_loss").asDouble(), eb.get(i).get("train_loss").asDouble(), 1e-6);
            assertEquals(ea.get(i).get("val_top1").asDouble(), eb.get(i).get("val_top1").asDouble(), 1e-9);
        }
        assertEquals(Files.size(whole.resolve("model.pth")), Files.size(parts.resolve("model.pth")));

        // What is trained cannot change on resume; where it goes can.
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.resumeConfig(parts, List.of("optim.lr.init=1")));
        assertTrue(e.getMessage().contains("optim.lr.init"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(resumed, null, null).run(tmp.resolve("none")));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
    }

    @Test
    void reLabelTargetsComeFromTheStore() throws IOException {
        // Maps that name the image's class train like labels; maps that name the next class teach the model to
        // predict the next class, which the (true-label) validation then scores near 0.
        Path right = store(tmp.resolve("right.rlm"), (label, i) -> label);
        Path shifted = store(tmp.resolve("shifted.rlm"), (label, i) -> (label + 1) % 3);
        Trainer.Result good = new Trainer(config(tmp.resolve("right"), "data.relabel.use=true",
                "data.relabel.path=" + right), null, null).run(null);
        Trainer.Result bad = new Trainer(config(tmp.resolve("shifted"), "data.relabel.use=true",
                "data.relabel.path=" + shifted), null, null).run(null);
        assertTrue(good.valTop1() > 60, "maps of the label: " + good.valTop1());
        assertTrue(bad.valTop1() < 20, "maps of another class steer training away from the label: " + bad.valTop1());
        // gt_mix = 1 ignores the maps: the shifted store trains like one-hot labels.
        Lines log = new Lines();
        Trainer.Result mixed = new Trainer(config(tmp.resolve("mixed"), "data.relabel.use=true",
                "data.relabel.path=" + shifted, "data.relabel.gt_mix=1.0"), log, null).run(null);
        assertTrue(mixed.valTop1() > 60, "gt_mix 1: " + mixed.valTop1());
        assertTrue(log.has("targets: ReLabel (LabelPooling), gt_mix 1.0"), String.join("\n", log.lines));
    }

    @Test
    void labelCleaningDropsImagesTheTeacherDisagreesWith() throws IOException {
        // The teacher disagrees on every 4th image (24 of 96).
        Path maps = store(tmp.resolve("t.rlm"), (label, i) -> i % 4 == 0 ? (label + 1) % 3 : label);
        Lines log = new Lines();
        Trainer.Result r = new Trainer(config(tmp.resolve("clean"), "data.label_cleaning.use=true",
                "data.relabel.path=" + maps, "optim.epochs=1"), log, null).run(null);
        assertTrue(log.has("label cleaning kept 72 of 96"), String.join("\n", log.lines));
        assertEquals(72 / 16, r.steps());
        try (LabelMapStore s = LabelMapStore.open(maps)) {
            assertEquals(96, s.size());
        }
    }

    @Test
    void distillationFromATrainedTeacher() throws IOException {
        Path teacherRun = tmp.resolve("teacher");
        new Trainer(config(teacherRun), null, null).run(null);
        Lines log = new Lines();
        // A store path left in the config (a ReLabel recipe's) is not opened: distillation reads no label maps.
        Trainer.Result r = new Trainer(config(tmp.resolve("kd"), "kd.use=true", "kd.teacher_arch=small-cnn",
                "kd.teacher_checkpoint=" + teacherRun.resolve("model.pth"), "kd.temperature=2.0",
                "data.relabel.path=" + tmp.resolve("absent.rlm")), log, null).run(null);
        assertTrue(log.has("targets: knowledge distillation"), String.join("\n", log.lines));
        assertTrue(r.valTop1() > 60, "the student learns from the teacher alone: " + r.valTop1());
        for (JsonNode e : records(tmp.resolve("kd"), "epoch")) assertTrue(e.get("epoch_seconds").asDouble() > 0);
        // A teacher checkpoint of the wrong architecture is refused, naming the file.
        var e = assertThrows(IOException.class, () -> new Trainer(config(tmp.resolve("kd2"), "kd.use=true",
                "kd.teacher_arch=resnet18", "kd.teacher_checkpoint=" + teacherRun.resolve("model.pth")), null, null).run(null));
        assertTrue(e.getMessage().contains("model.pth"), e.getMessage());
    }

    @Test
    void mixedPrecisionRuns() throws IOException {
        // Autocast on the CPU exercises the same code path as on CUDA (bf16; fp16 with dynamic loss scaling).
        Path fp32 = tmp.resolve("fp32");
        new Trainer(config(fp32, "optim.epochs=1", "util.max_steps=1", "util.checkpoint_every=0"), null, null).run(null);
        double reference = records(fp32, "step").get(0).get("loss").asDouble();
        for (String amp : new String[] {"bf16", "fp16"}) {
            Path out = tmp.resolve(amp);
            Trainer.Result r = new Trainer(config(out, "compute.amp=" + amp, "optim.epochs=2"), null, null).run(null);
            List<JsonNode> steps = records(out, "step");
            assertTrue(Double.isFinite(r.lastLoss()), amp);
            assertTrue(r.valTop1() > 60, amp + " learns: " + r.valTop1());
            assertEquals(amp.equals("fp16"), steps.get(0).has("loss_scale"), amp);
            double first = steps.get(0).get("loss").asDouble();
            assertTrue(first != reference && Math.abs(first - reference) < 0.15,
                    amp + " autocast changes the first loss a little: " + first + " vs fp32 " + reference);
        }
    }

    @Test
    void badInputsAreNamed() throws IOException {
        Path maps = store(tmp.resolve("m.rlm"), (label, i) -> label);
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("a"),
                "optim.batch_size=200"), null, null).run(null));
        assertTrue(e.getMessage().contains("no full batch of 200"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("b"), "model.classes=2"),
                null, null).run(null));
        assertTrue(e.getMessage().contains("model.classes 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("c"), "model.arch=vgg",
                "data.relabel.path=" + maps), null, null).run(null));
        assertTrue(e.getMessage().contains("unknown model 'vgg'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(config(tmp.resolve("d"), "compute.device=tpu"),
                null, null).run(null));
        assertTrue(e.getMessage().contains("tpu"), e.getMessage());
    }
}
