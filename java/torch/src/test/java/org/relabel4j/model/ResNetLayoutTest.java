package org.relabel4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/** The ResNets' state-dict names, kinds, dtypes, shapes and order against torchvision 0.14's (listed at dev time). */
class ResNetLayoutTest {
    @BeforeAll
    static void loadTorch() {
        Torch.init();  // before any org.bytedeco.pytorch class (Debian's libtorch pitfall)
    }

    /** Our layout as the listing's lines: name, param|buffer, dtype, shape. */
    static List<ModelTesting.Entry> layoutOf(Classifier c) {
        List<ModelTesting.Entry> out = new ArrayList<>();
        Map<String, Tensor> params = c.namedParameters();
        for (Map.Entry<String, Tensor> e : c.stateDict().entrySet()) {
            out.add(new ModelTesting.Entry(e.getKey(), params.containsKey(e.getKey()) ? "param" : "buffer",
                    Tensors.dtype(e.getValue()).label(), Tensors.shape(e.getValue())));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet50"})
    void everyEntryIsTorchvisions(String arch) {
        List<ModelTesting.Entry> want = ModelTesting.layout(arch);
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create(arch, 1000)) {
            List<ModelTesting.Entry> got = layoutOf(m);
            assertEquals(want.size(), got.size(), arch + ": entries");
            for (int i = 0; i < want.size(); ++i) {
                ModelTesting.Entry w = want.get(i), g = got.get(i);
                String at = arch + " entry " + i + " (" + w.name() + ")";
                assertEquals(w.name(), g.name(), at + ": name (torchvision's order)");
                assertEquals(w.kind(), g.kind(), at + ": parameter or buffer");
                assertEquals(w.dtype(), g.dtype(), at + ": dtype");
                assertArrayEquals(w.shape(), g.shape(), at + ": shape " + g.shapeText() + ", want " + w.shapeText());
            }
            assertEquals(want.stream().filter(e -> e.kind().equals("param")).count(), m.parameters().size(),
                    "parameters() holds the params");
        }
    }

    /** resnets.txt: counts for all five depths and sampled entries (every downsample entry, layer3's last block). */
    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"})
    void countsAndSampledEntriesAreTorchvisions(String arch) {
        long[] counts = null;
        Map<String, ModelTesting.Entry> sample = new LinkedHashMap<>();
        for (String line : ModelTesting.resourceLines("resnets.txt")) {
            if (line.startsWith(arch + "\t")) {
                String[] f = line.split("\t");
                counts = new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])};
            } else if (line.startsWith(arch + ":")) {
                ModelTesting.Entry e = ModelTesting.entry(line.substring(arch.length() + 1));
                sample.put(e.name(), e);
            }
        }
        assertTrue(counts != null && !sample.isEmpty(), "resnets.txt lists " + arch);
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create(arch, 1000)) {
            List<ModelTesting.Entry> got = layoutOf(m);
            long params = got.stream().filter(e -> e.kind().equals("param")).count();
            long numel = 0;
            for (ModelTesting.Entry e : got) {
                if (!e.kind().equals("param")) continue;
                long n = 1;
                for (long d : e.shape()) n *= d;
                numel += n;
            }
            assertArrayEquals(counts, new long[] {got.size(), params, got.size() - params, numel},
                    arch + ": entries, params, buffers, parameter elements");
            Map<String, ModelTesting.Entry> byName = new LinkedHashMap<>();
            for (ModelTesting.Entry e : got) byName.put(e.name(), e);
            for (ModelTesting.Entry w : sample.values()) {
                ModelTesting.Entry g = byName.get(w.name());
                assertTrue(g != null, arch + " lacks " + w.name());
                assertEquals(w.kind() + " " + w.dtype() + " " + w.shapeText(), g.kind() + " " + g.dtype() + " " + g.shapeText(),
                        arch + " " + w.name());
            }
        }
    }

    @Test
    void classesSetTheHead() {
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create("resnet34", 7)) {
            Map<String, Tensor> sd = m.stateDict();
            assertArrayEquals(new long[] {7, 512}, Tensors.shape(sd.get("fc.weight")));
            assertArrayEquals(new long[] {7}, Tensors.shape(sd.get("fc.bias")));
            assertEquals(7, m.classes());
            assertEquals("resnet34", m.name());
        }
    }

    @Test
    void factoryNamesAndErrors() {
        assertEquals(List.of("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "small_cnn"), Models.names());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Models.create("resnet19", 10));
        assertTrue(e.getMessage().contains("resnet19") && e.getMessage().contains("resnet152"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Models.create("resnet18", 0));
        try (PointerScope scope = new PointerScope(); ModuleClassifier m = Models.create("ResNet18", 3);
             ModuleClassifier s = Models.create("small-cnn", 3)) {
            assertTrue(m instanceof ResNet r && r.arch() == ResNet.Arch.RESNET18);
            assertTrue(s instanceof SmallCnn);
        }
    }

    @Test
    void smallCnnLayout() {
        try (PointerScope scope = new PointerScope();
             SmallCnn m = new SmallCnn(4, ModelOptions.defaults().withWidth(8).withStages(2))) {
            List<String> names = new ArrayList<>(m.stateDict().keySet());
            assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                    "bn1.num_batches_tracked", "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean",
                    "bn2.running_var", "bn2.num_batches_tracked", "conv3.weight", "bn3.weight", "bn3.bias",
                    "bn3.running_mean", "bn3.running_var", "bn3.num_batches_tracked", "fc.weight", "fc.bias"), names);
            assertArrayEquals(new long[] {32, 16, 3, 3}, Tensors.shape(m.stateDict().get("conv3.weight")));
            assertArrayEquals(new long[] {4, 32}, Tensors.shape(m.stateDict().get("fc.weight")));
            assertEquals(32, m.featureChannels());
        }
        // Without batch norm: conv-ReLU stages; ResNets refuse.
        try (PointerScope scope = new PointerScope();
             SmallCnn m = new SmallCnn(4, ModelOptions.defaults().withWidth(8).withStages(2).withBatchNorm(false))) {
            assertEquals(List.of("conv1.weight", "conv2.weight", "conv3.weight", "fc.weight", "fc.bias"),
                    new ArrayList<>(m.stateDict().keySet()));
            assertArrayEquals(new long[] {2, 4}, Tensors.shape(m.forward(org.bytedeco.pytorch.global.torch.randn(2, 3, 16, 16))));
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> Models.create("resnet18", 10, ModelOptions.defaults().withBatchNorm(false)));
        assertTrue(e.getMessage().contains("batch norm"), e.getMessage());
    }

    @Test
    void stridedConvolutionsDownsample() {
        // Output stride 8 for the small CNN (3 stages), 32 for ResNets: the dense maps of 64 px images.
        try (PointerScope scope = new PointerScope();
             SmallCnn s = new SmallCnn(4, ModelOptions.defaults().withWidth(8));
             ModuleClassifier r = Models.create("resnet18", 5)) {
            assertArrayEquals(new long[] {2, 4, 8, 8},
                    Tensors.shape(s.forwardDense(org.bytedeco.pytorch.global.torch.randn(2, 3, 64, 64))));
            assertArrayEquals(new long[] {2, 5, 2, 2},
                    Tensors.shape(r.forwardDense(org.bytedeco.pytorch.global.torch.randn(2, 3, 64, 64))));
        }
    }
}
