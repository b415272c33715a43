package org.relabel4j.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Builds the built-in models by name. */
public final class Models {
    private Models() {}

    /** The names {@link #create} accepts: resnet18, resnet34, resnet50, resnet101, resnet152, small_cnn. */
    public static List<String> names() {
        List<String> out = new ArrayList<>();
        for (ResNet.Arch a : ResNet.Arch.values()) out.add(a.id());
        out.add("small_cnn");
        return out;
    }

    /** A freshly initialized model with the default options. */
    public static ModuleClassifier create(String arch, int classes) {
        return create(arch, classes, ModelOptions.defaults());
    }

    /**
     * A freshly initialized model: {@code arch} is one of {@link #names()} (any case; {@code smallcnn} and
     * {@code small-cnn} also name SmallCnn). Load weights with {@link StateDicts#load}.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the known ones) or bad options
     */
    public static ModuleClassifier create(String arch, int classes, ModelOptions options) {
        if (arch == null) throw new IllegalArgumentException("no model name given; known: " + names());
        ResNet.Arch a = ResNet.Arch.of(arch.trim());
        if (a != null) return new ResNet(a, classes, options);
        String n = arch.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (n.equals("small_cnn") || n.equals("smallcnn")) return new SmallCnn(classes, options);
        throw new IllegalArgumentException("unknown model '" + arch + "'; known: " + names()
                + " (or a TorchScript file through TorchScriptClassifier)");
    }

    /**
     * SmallCnn's width, stages and batch norms as the state dict has them (conv1's output channels, the conv count
     * - 1, whether bn1 is there).
     */
    static ModelOptions optionsFor(String arch, StateDicts.Read read) {
        ModelOptions o = ModelOptions.defaults();
        String n = arch.toLowerCase(Locale.ROOT).replace('-', '_');
        if (!n.equals("small_cnn") && !n.equals("smallcnn")) return o;
        int convs = 0;
        long width = -1;
        boolean norms = false;
        for (var e : read.tensors().entrySet()) {
            String k = e.getKey().startsWith("module.") ? e.getKey().substring(7) : e.getKey();
            norms |= k.startsWith("bn1.");
            if (k.matches("conv\\d+\\.weight")) {
                ++convs;
                if (k.equals("conv1.weight") && e.getValue().shape().length == 4) width = e.getValue().shape()[0];
            }
        }
        return width > 0 && convs >= 1 && convs <= 9
                ? o.withWidth((int) width).withStages(convs - 1).withBatchNorm(norms) : o;
    }

    /**
     * The model a command line names: a built-in architecture ({@link #names()}) with {@code classes} outputs and,
     * when {@code checkpoint} is given, its weights loaded strictly from that state dict (torchvision or released
     * ReLabel {@code .pth}, or our own); or a TorchScript file (a name ending in {@code .pt}/{@code .pth}/{@code .jit}
     * or an existing file), whose class count must then be {@code classes} (0: accept any).
     *
     * @throws IllegalArgumentException unknown name, or a checkpoint given with a TorchScript module
     * @throws IOException unreadable files, or a state dict that does not match the architecture (names the tensors)
     */
    public static Classifier load(String model, Path checkpoint, int classes) throws IOException {
        if (checkpoint == null) return build(model, classes, ModelOptions.defaults());
        if (isTorchScript(model))
            throw new IllegalArgumentException("--checkpoint is for built-in architectures; the TorchScript module '"
                    + model.trim() + "' carries its own weights");
        StateDicts.Read read = StateDicts.read(checkpoint);
        ModuleClassifier c = create(model, classes, optionsFor(model.trim(), read));
        try {
            StateDicts.load(c, read.tensors(), true, checkpoint, read.source());
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * A freshly initialized built-in model ({@link #create}), or the TorchScript module {@code model} names (its own
     * weights; {@code options} do not apply), checked to have {@code classes} outputs (0: any).
     */
    public static Classifier build(String model, int classes, ModelOptions options) throws IOException {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("no model given; known: " + names()
                + " or a TorchScript file");
        if (!isTorchScript(model)) return create(model.trim(), classes, options);
        String m = model.trim();
        TorchScriptClassifier ts = TorchScriptClassifier.load(Path.of(m));
        if (classes > 0 && ts.classes() != classes) {
            ts.close();
            throw new IllegalArgumentException("TorchScript module '" + m + "' has " + ts.classes()
                    + " classes, " + classes + " are needed");
        }
        return ts;
    }

    /** Whether {@code model} names a TorchScript file rather than a built-in architecture. */
    public static boolean isTorchScript(String model) {
        if (model == null) return false;
        String m = model.trim(), n = m.toLowerCase(Locale.ROOT).replace('-', '_');
        if (ResNet.Arch.of(m) != null || names().contains(n) || n.equals("smallcnn")) return false;
        return Files.exists(Path.of(m)) || n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".jit");
    }
}
