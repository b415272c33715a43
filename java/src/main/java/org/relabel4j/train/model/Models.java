package org.relabel4j.train.model;

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
     * The model a command line names: a built-in architecture ({@link #names()}) with {@code classes} outputs and,
     * when {@code checkpoint} is given, its weights loaded strictly from that state dict (torchvision or released
     * ReLabel {@code .pth}, or our own); or a TorchScript file (a name ending in {@code .pt}/{@code .pth}/{@code .jit}
     * or an existing file), whose class count must then be {@code classes} (0: accept any).
     *
     * @throws IllegalArgumentException unknown name, or a checkpoint given with a TorchScript module
     * @throws IOException unreadable files, or a state dict that does not match the architecture (names the tensors)
     */
    public static Classifier load(String model, Path checkpoint, int classes) throws IOException {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("no model given; known: " + names()
                + " or a TorchScript file");
        String m = model.trim();
        boolean builtIn = ResNet.Arch.of(m) != null || names().contains(m.toLowerCase(java.util.Locale.ROOT)
                .replace('-', '_')) || m.equalsIgnoreCase("smallcnn");
        if (!builtIn && (Files.exists(Path.of(m)) || m.endsWith(".pt") || m.endsWith(".pth") || m.endsWith(".jit"))) {
            if (checkpoint != null)
                throw new IllegalArgumentException("--checkpoint is for built-in architectures; the TorchScript module '"
                        + m + "' carries its own weights");
            TorchScriptClassifier ts = TorchScriptClassifier.load(Path.of(m));
            if (classes > 0 && ts.classes() != classes) {
                ts.close();
                throw new IllegalArgumentException("TorchScript module '" + m + "' has " + ts.classes()
                        + " classes, the dataset/--classes needs " + classes);
            }
            return ts;
        }
        ModuleClassifier c = create(m, classes);
        if (checkpoint != null) {
            try {
                StateDicts.load(c, checkpoint, true);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }
        return c;
    }
}
