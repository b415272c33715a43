package org.relabel4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.torchsave.TorchSave;
import org.relabel4j.torchsave.TorchSaveWriter;
import org.relabel4j.torchsave.TorchTensor;

/** Loading and saving state dicts: torchvision's layout, prefixes and checkpoints, mismatches, round trips. */
class StateDictsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void loadTorch() {
        Torch.init();
    }

    /** SmallCnn with 4 classes, width 8, 2 stages: fc.weight [4,32]. */
    static SmallCnn small() {
        return new SmallCnn(4, ModelOptions.defaults().withWidth(8).withStages(2));
    }

    /** Every tensor of {@code c} holds exactly {@code want}'s bytes (dtype, shape, values). */
    static void assertHolds(Classifier c, Map<String, NdArray> want, String what) {
        Map<String, NdArray> got = StateDicts.toHost(c);
        for (Map.Entry<String, NdArray> e : want.entrySet()) {
            NdArray g = got.get(e.getKey());
            assertTrue(g != null, what + ": the model has no " + e.getKey());
            assertTrue(ModelTesting.sameBytes(g, e.getValue()), what + ": " + e.getKey() + " holds " + g
                    + " with other values than " + e.getValue());
        }
    }

    /** Whether any tensor of a and b differs (so that "unchanged" checks can fail). */
    static boolean anyDiffers(Map<String, NdArray> a, Map<String, NdArray> b) {
        for (String k : a.keySet()) if (!ModelTesting.sameBytes(a.get(k), b.get(k))) return true;
        return false;
    }

    static <V> Map<String, V> without(Map<String, V> m, String... keys) {
        Map<String, V> out = new LinkedHashMap<>(m);
        for (String k : keys) out.remove(k);
        return out;
    }

    // ---- (a) torchvision's layout ----

    /**
     * A state dict with exactly torchvision's resnet18 entries (names, order, dtypes and shapes of resnet18.txt,
     * num_batches_tracked int64 0-d), written here with formula values, loads strictly: every entry matched, and the
     * model then holds the written values.
     */
    @Test
    void torchvisionResnet18LoadsStrictlyEntryByEntry() throws IOException {
        List<ModelTesting.Entry> layout = ModelTesting.layout("resnet18");
        Map<String, NdArray> written = new LinkedHashMap<>();
        int k = 0;
        for (ModelTesting.Entry e : layout) {
            NdArray a = ModelTesting.formula(e.name(), k++, e.shape());
            assertEquals(e.dtype(), a.dtype().label(), e.name() + ": the written dtype is torchvision's");
            written.put(e.name(), a);
        }
        Path file = dir.resolve("resnet18-torchvision.pth");
        TorchSaveWriter.writeStateDict(file, written);
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create("resnet18", 1000)) {
            assertTrue(anyDiffers(written, StateDicts.toHost(m)), "a fresh model does not already hold the values");
            StateDicts.LoadReport r = StateDicts.load(m, file, true);
            List<String> names = layout.stream().map(ModelTesting.Entry::name).toList();
            assertEquals(122, names.size());
            assertEquals(names, r.loaded(), "every entry loaded, in torchvision's order");
            assertEquals(List.of(), r.missing());
            assertEquals(List.of(), r.unexpected());
            assertEquals(List.of(), r.defaulted());
            assertEquals(List.of(), r.converted());
            assertEquals("", r.source());
            assertEquals("", r.strippedPrefix());
            assertEquals(file, r.file());
            assertTrue(r.summary().contains("122 tensors loaded"), r.summary());
            assertEquals(names, List.copyOf(m.stateDict().keySet()), "the model's own entries");
            assertHolds(m, written, "resnet18 after load");
            assertEquals(5L, StateDicts.toHost(m).get("bn1.num_batches_tracked").getLong(0));
        }
    }

    // ---- (b) DataParallel prefixes and checkpoint dicts ----

    @Test
    void moduleDotPrefixIsStripped() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            Map<String, NdArray> prefixed = new LinkedHashMap<>();
            sd.forEach((k, v) -> prefixed.put("module." + k, v));
            Path file = dir.resolve("dataparallel.pth");
            TorchSaveWriter.writeStateDict(file, prefixed);
            StateDicts.LoadReport r = StateDicts.load(m, file, true);
            assertEquals("module.", r.strippedPrefix());
            assertEquals(List.copyOf(sd.keySet()), r.loaded());
            assertEquals(List.of(), r.unexpected());
            assertTrue(r.summary().contains("prefix 'module.' stripped"), r.summary());
            assertHolds(m, sd, "after loading the module.-prefixed dict");
        }
    }

    /** A prefix only some keys have is not stripped: those keys are unexpected, theirs missing. */
    @Test
    void partialPrefixIsNotStripped() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            Map<String, NdArray> mixed = new LinkedHashMap<>(sd);
            mixed.put("module.fc.bias", mixed.remove("fc.bias"));
            Path file = dir.resolve("mixed.pth");
            TorchSaveWriter.writeStateDict(file, mixed);
            StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class, () -> StateDicts.load(m, file, true));
            assertTrue(e.getMessage().contains("missing keys [fc.bias]")
                    && e.getMessage().contains("unexpected keys [module.fc.bias]"), e.getMessage());
        }
    }

    @Test
    void checkpointDictsAreSearched() throws IOException {
        for (String key : StateDicts.CHECKPOINT_KEYS) {
            try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
                Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
                Map<String, Object> ckpt = new LinkedHashMap<>();
                ckpt.put("epoch", 90);
                ckpt.put("arch", "small_cnn");
                ckpt.put(key, sd);
                ckpt.put("optimizer", Map.of("lr", 0.1, "momentum", 0.9));
                ckpt.put("best_acc1", 0.75);
                Path file = dir.resolve("checkpoint-" + key + ".pth.tar");
                TorchSaveWriter.write(file, ckpt);
                StateDicts.LoadReport r = StateDicts.load(m, file, true);
                assertEquals(key, r.source());
                assertEquals(List.copyOf(sd.keySet()), r.loaded());
                assertTrue(r.summary().contains("[" + key + "]"), r.summary());
                assertHolds(m, sd, "after loading checkpoint['" + key + "']");
            }
        }
    }

    /** The released ReLabel checkpoints: {"state_dict": {"module.conv1.weight": ...}, "epoch": ...}. */
    @Test
    void checkpointWithDataParallelKeys() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            Map<String, NdArray> prefixed = new LinkedHashMap<>();
            sd.forEach((k, v) -> prefixed.put("module." + k, v));
            Path file = dir.resolve("relabel.pth");
            TorchSaveWriter.write(file, Map.of("state_dict", prefixed));
            StateDicts.LoadReport r = StateDicts.load(m, file, true);
            assertEquals("state_dict", r.source());
            assertEquals("module.", r.strippedPrefix());
            assertHolds(m, sd, "after loading checkpoint['state_dict'] with module. keys");
        }
    }

    /** A dict without tensors whose known keys hold none: the message names the file and lists the keys. */
    @Test
    void dictWithoutStateDictIsRefused() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, Object> ckpt = new LinkedHashMap<>();
            ckpt.put("epoch", 3);
            ckpt.put("weights", ModelTesting.formulaStateDict(m));  // not one of the checkpoint keys
            Path file = dir.resolve("odd-checkpoint.pth");
            TorchSaveWriter.write(file, ckpt);
            Map<String, NdArray> before = StateDicts.toHost(m);
            StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class, () -> StateDicts.load(m, file, true));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("[epoch, weights]")
                    && e.getMessage().contains("state_dict"), e.getMessage());
            assertHolds(m, before, "after the refused load");
        }
    }

    // ---- (c) mismatches ----

    @Test
    void wrongShapeNamesKeyAndShapesAndChangesNothing() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            assertArrayEquals(new long[] {4, 32}, sd.get("fc.weight").shape());
            sd.put("fc.weight", ModelTesting.formula("fc.weight", 18, new long[] {5, 32}));
            Path file = dir.resolve("wrong-shape.pth");
            TorchSaveWriter.writeStateDict(file, sd);
            Map<String, NdArray> before = StateDicts.toHost(m);
            assertTrue(anyDiffers(before, without(sd, "fc.weight")), "the file's other tensors would change the model");
            for (boolean strict : new boolean[] {true, false}) {
                StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class, () -> StateDicts.load(m, file, strict));
                String msg = e.getMessage();
                assertTrue(msg.contains("fc.weight") && msg.contains("[5, 32]") && msg.contains("[4, 32]")
                        && msg.contains(file.toString()), "strict " + strict + ": " + msg);
                assertFalse(msg.contains("conv1.weight"), msg);
                assertHolds(m, before, "strict " + strict + ": after the failed load (nothing copied)");
            }
        }
    }

    /** An integer tensor where the model has a float one fails before anything is copied. */
    @Test
    void wrongDtypeKindChangesNothing() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            sd.put("fc.bias", NdArray.of(new long[] {1, 2, 3, 4}, 4));
            Path file = dir.resolve("int-bias.pth");
            TorchSaveWriter.writeStateDict(file, sd);
            Map<String, NdArray> before = StateDicts.toHost(m);
            StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class, () -> StateDicts.load(m, file, false));
            assertTrue(e.getMessage().contains("fc.bias") && e.getMessage().contains("int64")
                    && e.getMessage().contains("float32"), e.getMessage());
            assertHolds(m, before, "after the failed load");
        }
    }

    /** float64 and float16 tensors are converted to the model's float32, and reported. */
    @Test
    void floatTensorsAreConverted() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            Map<String, NdArray> file64 = new LinkedHashMap<>(sd);
            file64.put("conv1.weight", sd.get("conv1.weight").astype(DType.FLOAT64));
            file64.put("fc.bias", sd.get("fc.bias").astype(DType.FLOAT16));
            Path file = dir.resolve("mixed-dtypes.pth");
            TorchSaveWriter.writeStateDict(file, file64);
            StateDicts.LoadReport r = StateDicts.load(m, file, true);
            assertEquals(List.of("conv1.weight (float64 -> float32)", "fc.bias (float16 -> float32)"), r.converted());
            Map<String, NdArray> want = new LinkedHashMap<>(sd);
            want.put("fc.bias", sd.get("fc.bias").astype(DType.FLOAT16).astype(DType.FLOAT32));
            assertHolds(m, want, "after loading converted tensors");
            assertEquals(DType.FLOAT32, StateDicts.toHost(m).get("conv1.weight").dtype());
        }
    }

    @Test
    void strictNamesMissingAndUnexpectedKeysAndChangesNothing() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = without(ModelTesting.formulaStateDict(m), "bn2.running_mean", "conv3.weight");
            sd.put("head.weight", NdArray.of(new float[] {1, 2}, 2));
            Path file = dir.resolve("partial.pth");
            TorchSaveWriter.writeStateDict(file, sd);
            Map<String, NdArray> before = StateDicts.toHost(m);
            StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class, () -> StateDicts.load(m, file, true));
            String msg = e.getMessage();
            assertTrue(msg.contains("missing keys [bn2.running_mean, conv3.weight]")
                    && msg.contains("unexpected keys [head.weight]") && msg.contains(file.toString())
                    && msg.contains("strict"), msg);
            assertHolds(m, before, "after the failed strict load");
        }
    }

    @Test
    void nonStrictLoadsTheCommonKeys() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> full = ModelTesting.formulaStateDict(m);
            Map<String, NdArray> sd = without(full, "bn2.running_mean", "conv3.weight");
            sd.put("head.weight", NdArray.of(new float[] {1, 2}, 2));
            Path file = dir.resolve("partial.pth");
            TorchSaveWriter.writeStateDict(file, sd);
            Map<String, NdArray> before = StateDicts.toHost(m);
            StateDicts.LoadReport r = StateDicts.load(m, file, false);
            assertEquals(List.of("bn2.running_mean", "conv3.weight"), r.missing());
            assertEquals(List.of("head.weight"), r.unexpected());
            List<String> common = new ArrayList<>(full.keySet());
            common.removeAll(r.missing());
            assertEquals(common, r.loaded());
            assertTrue(r.summary().contains("2 missing") && r.summary().contains("1 unexpected"), r.summary());
            assertHolds(m, without(sd, "head.weight"), "the common keys after the non-strict load");
            assertHolds(m, Map.of("bn2.running_mean", before.get("bn2.running_mean"), "conv3.weight",
                    before.get("conv3.weight")), "the missing keys keep their values");
        }
    }

    /** Checkpoints of torch < 0.4.1 have no num_batches_tracked: strict loading sets them to 0, as PyTorch does. */
    @Test
    void absentNumBatchesTrackedDefaultsToZero() throws IOException {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> sd = ModelTesting.formulaStateDict(m);
            Path full = dir.resolve("full.pth");
            TorchSaveWriter.writeStateDict(full, sd);
            StateDicts.load(m, full, true);  // num_batches_tracked k != 0
            String[] nbt = {"bn1.num_batches_tracked", "bn2.num_batches_tracked", "bn3.num_batches_tracked"};
            Path old = dir.resolve("old.pth");
            TorchSaveWriter.writeStateDict(old, without(sd, nbt));
            StateDicts.LoadReport r = StateDicts.load(m, old, true);
            assertEquals(List.of(nbt), r.defaulted());
            assertEquals(List.of(), r.missing());
            Map<String, NdArray> host = StateDicts.toHost(m);
            for (String k : nbt) {
                assertTrue(sd.get(k).getLong(0) != 0, k + " was nonzero before");
                assertEquals(0L, host.get(k).getLong(0), k);
            }
        }
    }

    /** Models.load with a built-in name and --checkpoint loads strictly; another class count names the tensors. */
    @Test
    void modelsLoadAppliesCheckpointsStrictly() throws IOException {
        Path file = dir.resolve("small_cnn-4.pth");
        Map<String, NdArray> sd;
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create("small_cnn", 4)) {
            sd = ModelTesting.formulaStateDict(m);
        }
        TorchSaveWriter.write(file, Map.of("model", sd, "epoch", 1));
        try (PointerScope scope = new PointerScope(); Classifier c = Models.load("small_cnn", file, 4)) {
            assertHolds(c, sd, "Models.load(small_cnn, checkpoint)");
        }
        StateDicts.StateDictException e = assertThrows(StateDicts.StateDictException.class,
                () -> Models.load("small_cnn", file, 5));
        assertTrue(e.getMessage().contains("fc.weight") && e.getMessage().contains("fc.bias")
                && e.getMessage().contains("[4]") && e.getMessage().contains("[5]"), e.getMessage());
    }

    // ---- (d) round trips ----

    /** A model trained one step (non-trivial running statistics) saved and loaded into a differently seeded one. */
    void roundTrip(String arch) throws IOException {
        ModelOptions o = ModelOptions.defaults().withWidth(8).withStages(2);
        try (PointerScope scope = new PointerScope(); ModuleClassifier a = Models.create(arch, 7, o.withSeed(1L));
             ModuleClassifier b = Models.create(arch, 7, o.withSeed(2L)); NoGradGuard g = new NoGradGuard()) {
            Tensor x = Tensors.fromNdArray(ModelTesting.image(2, 64, 48));
            a.train(true);
            a.forward(x.mul(new Scalar(2.0)));  // batch statistics into the running ones
            a.train(false);
            b.train(false);
            float[] want = ModelTesting.floats(a.forward(x));
            assertFalse(Arrays.equals(want, ModelTesting.floats(b.forward(x))), arch + ": b differs before loading");
            Path file = dir.resolve(arch + ".pth");
            StateDicts.save(a, file);
            Map<String, TorchTensor> read = TorchSave.loadStateDict(file);
            assertEquals(List.copyOf(a.stateDict().keySet()), List.copyOf(read.keySet()), "the file's keys and order");
            TorchTensor nbt = read.get(arch.equals("small_cnn") ? "bn1.num_batches_tracked" : "layer1.0.bn1.num_batches_tracked");
            assertEquals(DType.INT64, nbt.dtype());
            assertArrayEquals(new long[0], nbt.shape(), "num_batches_tracked is 0-d, as torch's");
            assertEquals(1L, nbt.data().getLong(0));
            StateDicts.LoadReport r = StateDicts.load(b, file, true);
            assertEquals(List.copyOf(b.stateDict().keySet()), r.loaded());
            assertHolds(b, StateDicts.toHost(a), arch + ": b after loading a's file");
            assertArrayEquals(want, ModelTesting.floats(b.forward(x)), arch + ": identical eval-mode logits");
            assertArrayEquals(ModelTesting.floats(a.forwardDense(x)), ModelTesting.floats(b.forwardDense(x)),
                    arch + ": identical dense logits");
        }
    }

    @Test
    void resnetRoundTripGivesIdenticalOutputs() throws IOException {
        roundTrip("resnet18");
    }

    @Test
    void smallCnnRoundTripGivesIdenticalOutputs() throws IOException {
        roundTrip("small_cnn");
    }

    // ---- (e) files that are not state dicts ----

    void assertNotAStateDict(Path file, String... expected) {
        try (PointerScope scope = new PointerScope(); SmallCnn m = small()) {
            Map<String, NdArray> before = StateDicts.toHost(m);
            IOException e = assertThrows(IOException.class, () -> StateDicts.load(m, file, false));
            String msg = e.getMessage();
            assertTrue(msg != null && msg.contains(file.toString()), "names the file: " + msg);
            for (String s : expected) assertTrue(msg.contains(s), "says '" + s + "': " + msg);
            assertHolds(m, before, "after failing on " + file.getFileName());
        }
    }

    @Test
    void randomBytesAreNotAStateDict() throws IOException {
        byte[] noise = new byte[4096];
        new Random(7).nextBytes(noise);
        Path file = Files.write(dir.resolve("noise.pth"), noise);
        assertNotAStateDict(file, "not a torch.save file");
        assertNotAStateDict(Files.write(dir.resolve("empty.pth"), new byte[0]));
    }

    @Test
    void torchScriptFileIsNotAStateDict() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_methods.pt");
        assertNotAStateDict(file, "TorchScript", "TorchScriptClassifier");
    }

    @Test
    void otherTorchSaveValuesAreNotStateDicts() throws IOException {
        Path tensor = dir.resolve("tensor.pt");
        TorchSaveWriter.write(tensor, NdArray.of(new float[] {1, 2, 3}, 3));
        assertNotAStateDict(tensor, "tensor", "not a state dict");
        Path list = dir.resolve("list.pt");
        TorchSaveWriter.write(list, List.of(1, 2, 3));
        assertNotAStateDict(list, "not a state dict");
        assertNotAStateDict(dir.resolve("absent.pth"));
    }
}
