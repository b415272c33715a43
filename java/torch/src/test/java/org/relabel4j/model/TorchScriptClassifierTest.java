package org.relabel4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.torchsave.TorchSaveWriter;
import org.relabel4j.model.TorchScriptClassifier.Contract;
import org.relabel4j.model.TorchScriptClassifier.Options;

/**
 * The TorchScript modules of make_torchscript.py (one tiny CNN under three contracts, 5 classes): contract
 * detection, outputs against PyTorch's (ts_logits.npy, ts_dense_map.npy on ts_input.npy), forced contracts,
 * state dicts, and Models.load's handling of TorchScript files.
 */
class TorchScriptClassifierTest {
    /** PyTorch 1.13 wrote the expected outputs, LibTorch 2.10 runs the modules: float32 rounding only. */
    static final double TOLERANCE = 1e-5;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadTorch() {
        Torch.init();
    }

    static NdArray host(Tensor t) {
        return Tensors.toNdArray(t.detach());
    }

    /** forward and forwardDense on ts_input.npy equal PyTorch's. */
    void assertOutputs(TorchScriptClassifier c, String what) throws IOException {
        Tensor x = Tensors.fromNdArray(ModelTesting.npy(dir, "ts_input.npy"));
        NdArray logits = ModelTesting.npy(dir, "ts_logits.npy"), dense = ModelTesting.npy(dir, "ts_dense_map.npy");
        assertArrayEquals(new long[] {2, 5, 5, 5}, dense.shape());
        ModelTesting.assertClose(host(c.forward(x)), logits, TOLERANCE, what + ": forward vs ts_logits.npy");
        ModelTesting.assertClose(host(c.forwardDense(x)), dense, TOLERANCE, what + ": forwardDense vs ts_dense_map.npy");
    }

    @ParameterizedTest
    @CsvSource({"ts_methods.pt, DENSE_METHOD", "ts_dense.pt, DENSE_OUTPUT", "ts_backbone.pt, BACKBONE"})
    void detectsTheContractAndMatchesPyTorch(String name, Contract contract) throws IOException {
        Path file = ModelTesting.resourceFile(dir, name);
        try (PointerScope scope = new PointerScope(); TorchScriptClassifier c = TorchScriptClassifier.load(file);
             NoGradGuard g = new NoGradGuard()) {
            assertEquals(contract, c.contract(), name);
            assertEquals(5, c.classes());
            assertEquals(name.substring(0, name.length() - 3), c.name());
            assertEquals(file, c.file());
            c.train(false);
            assertOutputs(c, name);
        }
    }

    /** ts_methods also has forward_features and an fc head: the FEATURES_METHOD path, forced, gives the same. */
    @Test
    void featuresMethodContract() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_methods.pt");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
             TorchScriptClassifier c = TorchScriptClassifier.load(file, Options.defaults()
                     .withContract(Contract.FEATURES_METHOD).withProbeSize(20))) {
            assertEquals(Contract.FEATURES_METHOD, c.contract());
            c.train(false);
            assertOutputs(c, "ts_methods as FEATURES_METHOD");
        }
    }

    /** Forced LOGITS: forward still works, forwardDense says what the module lacks. */
    @Test
    void logitsContractHasNoDenseOutput() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_methods.pt");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
             TorchScriptClassifier c = TorchScriptClassifier.load(file, Options.defaults().withContract(Contract.LOGITS))) {
            Tensor x = Tensors.fromNdArray(ModelTesting.npy(dir, "ts_input.npy"));
            ModelTesting.assertClose(host(c.forward(x)), ModelTesting.npy(dir, "ts_logits.npy"), TOLERANCE, "LOGITS forward");
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> c.forwardDense(x));
            assertTrue(e.getMessage().contains("forward_dense") && e.getMessage().contains("ts_methods"), e.getMessage());
        }
    }

    /** A forced contract the module's output does not fit, and a wrong class count, fail to load with the reason. */
    @Test
    void refusesContractsAndClassCountsThatDoNotFit() throws IOException {
        Path dense = ModelTesting.resourceFile(dir, "ts_dense.pt"), methods = ModelTesting.resourceFile(dir, "ts_methods.pt");
        IOException e = assertThrows(IOException.class,
                () -> TorchScriptClassifier.load(dense, Options.defaults().withContract(Contract.DENSE_METHOD)));
        assertTrue(e.getMessage().contains("cannot use contract DENSE_METHOD")
                && e.getMessage().contains("DENSE_OUTPUT") && e.getMessage().contains(dense.toString()), e.getMessage());
        e = assertThrows(IOException.class,
                () -> TorchScriptClassifier.load(methods, Options.defaults().withContract(Contract.BACKBONE)));
        assertTrue(e.getMessage().contains("cannot use contract BACKBONE"), e.getMessage());
        e = assertThrows(IOException.class, () -> TorchScriptClassifier.load(methods, Options.defaults().withClasses(7)));
        assertTrue(e.getMessage().contains("5 classes, 7 expected"), e.getMessage());
        try (TorchScriptClassifier c = TorchScriptClassifier.load(methods, Options.defaults().withClasses(5))) {
            assertEquals(5, c.classes());
        }
        assertThrows(NoSuchFileException.class, () -> TorchScriptClassifier.load(dir.resolve("absent.pt")));
    }

    /** train(true) reaches the module: batch-norm batch statistics change the logits. */
    @Test
    void trainModeReachesTheModule() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_dense.pt");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
             TorchScriptClassifier c = TorchScriptClassifier.load(file)) {
            Tensor x = Tensors.fromNdArray(ModelTesting.npy(dir, "ts_input.npy"));
            c.train(false);
            NdArray eval = host(c.forward(x));
            c.train(true);
            NdArray train = host(c.forward(x));
            assertTrue(ModelTesting.maxAbsDiff(train, eval, "train vs eval") > 1e-3, "train mode uses batch statistics");
        }
    }

    /**
     * The module's own names (script attributes) as state dict, in torch's order; a state dict written with them
     * loads into the module in place (here fc.bias zeroed: the logits drop by the old bias).
     */
    @Test
    void stateDictIsTheModulesAndLoads() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_methods.pt");
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
             TorchScriptClassifier c = TorchScriptClassifier.load(file)) {
            assertEquals(List.of("body.conv.weight", "body.bn.weight", "body.bn.bias", "body.bn.running_mean",
                    "body.bn.running_var", "body.bn.num_batches_tracked", "fc.weight", "fc.bias"),
                    List.copyOf(c.stateDict().keySet()));
            assertEquals(List.of("body.conv.weight", "body.bn.weight", "body.bn.bias", "fc.weight", "fc.bias"),
                    List.copyOf(c.namedParameters().keySet()));
            assertEquals(5, c.parameters().size());

            Map<String, NdArray> sd = new LinkedHashMap<>(StateDicts.toHost(c));
            float[] bias = sd.get("fc.bias").toFloatArray();
            sd.put("fc.bias", NdArray.of(new float[5], 5));
            Path pth = dir.resolve("zero-bias.pth");
            TorchSaveWriter.writeStateDict(pth, sd);
            StateDicts.LoadReport r = StateDicts.load(c, pth, true);
            assertEquals(8, r.loaded().size());
            c.train(false);
            Tensor x = Tensors.fromNdArray(ModelTesting.npy(dir, "ts_input.npy"));
            float[] want = ModelTesting.npy(dir, "ts_logits.npy").toFloatArray();
            for (int i = 0; i < want.length; ++i) want[i] -= bias[i % 5];
            ModelTesting.assertClose(host(c.forward(x)), NdArray.of(want, 2, 5), TOLERANCE, "logits without fc.bias");
        }
    }

    // ---- Models.load ----

    @Test
    void modelsLoadTakesTorchScriptFiles() throws IOException {
        Path file = ModelTesting.resourceFile(dir, "ts_backbone.pt");
        for (int classes : new int[] {5, 0}) {
            try (PointerScope scope = new PointerScope(); Classifier c = Models.load(file.toString(), null, classes)) {
                assertTrue(c instanceof TorchScriptClassifier t && t.contract() == Contract.BACKBONE, String.valueOf(c));
                assertEquals(5, c.classes(), "classes " + classes);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Models.load(file.toString(), null, 1000));
        assertTrue(e.getMessage().contains("5 classes") && e.getMessage().contains("1000")
                && e.getMessage().contains(file.toString()), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Models.load(file.toString(), dir.resolve("weights.pth"), 5));
        assertTrue(e.getMessage().contains("--checkpoint") && e.getMessage().contains(file.toString()), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Models.load(dir.resolve("absent.pt").toString(), null, 0));
    }

    /** A torch.save state dict given as a TorchScript module: LibTorch refuses it, the message says what to do. */
    @Test
    void stateDictGivenAsTorchScriptGetsTheHint() throws IOException {
        Path pth = dir.resolve("small_cnn.pth");
        try (PointerScope scope = new PointerScope(); SmallCnn m = new SmallCnn(5)) {
            StateDicts.save(m, pth);
        }
        IOException e = assertThrows(IOException.class, () -> TorchScriptClassifier.load(pth));
        assertTrue(e.getMessage().contains(pth.toString()) && e.getMessage().contains("torch.save file")
                && e.getMessage().contains("StateDicts.load"), e.getMessage());
        IOException viaModels = assertThrows(IOException.class, () -> Models.load(pth.toString(), null, 5));
        assertEquals(e.getMessage(), viaModels.getMessage());
        assertFalse(e instanceof NoSuchFileException);
    }
}
