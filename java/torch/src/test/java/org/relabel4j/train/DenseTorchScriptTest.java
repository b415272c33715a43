package org.relabel4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.QualifiedName;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.model.LogitsAndDense;
import org.relabel4j.model.TorchScriptClassifier;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.TestTensors;
import org.relabel4j.torch.Torch;

/**
 * TorchScript students of dense supervision, written here with LibTorch's script compiler (no Python needed): a
 * module whose forward returns {@code (logits, dense [B,C,h,w])} or {@code (logits, tokens [B,h*w,C])} is loaded
 * with the LOGITS_AND_DENSE contract, gives its own logits and the map, and trains with {@code data.relabel.dense};
 * a module that returns only logits is refused with what it lacks.
 */
class DenseTorchScriptTest {
    @TempDir
    static Path data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void images() throws IOException {
        Torch.init();
        TrainData.write(data);
    }

    /**
     * A 3-class student of 24 px images: 8 x 8 average pooling to a 3 x 3 map, then a 1x1 convolution (the dense
     * logits); its logits are the dense logits' mean plus a learned offset {@code bias2} (so they are its own, not
     * the mean of the map). {@code returns}: "map", "tokens" or "logits".
     */
    static Path student(Path file, String returns) {
        JitModule m = new JitModule(new QualifiedName("Student"));
        torch.manual_seed(4);
        m.register_parameter("weight", torch.randn(3, 3, 1, 1).requires_grad_(true), false);
        m.register_parameter("bias2", torch.randn(3).requires_grad_(true), false);
        String out = switch (returns) {
            case "map" -> "return logits, d";
            case "tokens" -> "return logits, d.flatten(2).transpose(1, 2)";
            default -> "return logits";
        };
        m.define("def forward(self, x):\n"
                + "    d = torch.conv2d(torch.avg_pool2d(x, [8, 8]), self.weight)\n"
                + "    logits = d.mean([2, 3]) + self.bias2\n"
                + "    " + out + "\n");
        m.save(file.toString());
        return file;
    }

    @Test
    void logitsAndDenseModulesGiveTheirOwnLogitsAndTheMap() throws IOException {
        try (TorchScriptClassifier map = TorchScriptClassifier.load(student(tmp.resolve("map.pt"), "map"),
                TorchScriptClassifier.Options.defaults().withProbeSize(24));
                TorchScriptClassifier tokens = TorchScriptClassifier.load(student(tmp.resolve("tokens.pt"), "tokens"),
                        TorchScriptClassifier.Options.defaults().withProbeSize(24));
                PointerScope scope = new PointerScope()) {
            assertEquals(TorchScriptClassifier.Contract.LOGITS_AND_DENSE, map.contract());
            assertEquals(TorchScriptClassifier.Contract.LOGITS_AND_DENSE, tokens.contract());
            assertEquals(3, map.classes());
            Tensor x = torch.randn(2, 3, 24, 24);
            LogitsAndDense a = map.forwardWithDense(x), b = tokens.forwardWithDense(x);
            assertArrayEquals(new long[] {2, 3, 3, 3}, Tensors.shape(a.dense()));
            assertArrayEquals(TestTensors.values(a.dense()), TestTensors.values(b.dense()), 0f,
                    "tokens [B,h*w,C] read as the map [B,C,h,w]");
            assertArrayEquals(TestTensors.values(map.forward(x)), TestTensors.values(a.logits()), 0f);
            assertArrayEquals(TestTensors.values(a.logits()), TestTensors.values(b.logits()), 0f);
            float[] mean = TestTensors.values(a.dense().mean(new long[] {2, 3}));
            float[] logits = TestTensors.values(a.logits());
            assertTrue(Math.abs(mean[0] - logits[0]) > 1e-4, "the module's own logits, not the map's mean");
            assertArrayEquals(TestTensors.values(a.dense()), TestTensors.values(map.forwardDense(x)), 0f);
        }
    }

    static TrainConfig config(Path out, Path arch, Path maps) throws IOException {
        List<String> o = new ArrayList<>(List.of("data.train=imagefolder:" + data.resolve("train"),
                "data.val=imagefolder:" + data.resolve("val"), "util.out=" + out, "model.arch=" + arch,
                "data.image_size=24", "optim.batch_size=16", "optim.epochs=1", "optim.lr.init=0.1",
                "optim.warmup.epochs=0", "compute.threads=1", "compute.num_workers=2", "util.print_freq=1",
                "util.val_batch_size=24", "util.max_steps=3", "util.checkpoint_every=0", "data.relabel.use=true",
                "data.relabel.path=" + maps, "data.relabel.dense=true"));
        return TrainConfig.load("tiny", null, o);
    }

    @Test
    void aTokenStudentTrainsOnDenseTargetsAndALogitsOnlyOneIsRefused() throws IOException {
        Path maps = TrainData.store(data, tmp.resolve("maps.rlm"), (label, i) -> label);
        Path tokens = student(tmp.resolve("tokens.pt"), "tokens");
        TrainerTest.Lines log = new TrainerTest.Lines();
        Trainer.Result r = new Trainer(config(tmp.resolve("run"), tokens, maps), log, null).run(null);
        assertEquals(3, r.steps());
        assertTrue(Double.isFinite(r.lastLoss()), "loss " + r.lastLoss());
        assertTrue(log.has("dense supervision: 3 x 3"), String.join("\n", log.lines));

        Path logitsOnly = student(tmp.resolve("logits.pt"), "logits");
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(config(tmp.resolve("bad"), logitsOnly, maps), null, null).run(null));
        assertTrue(e.getMessage().contains("data.relabel.dense needs a student with dense logits")
                && e.getMessage().contains("gives only logits"), e.getMessage());
    }
}
