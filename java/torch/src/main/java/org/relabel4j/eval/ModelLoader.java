package org.relabel4j.eval;

import java.io.IOException;
import java.nio.file.Path;
import org.relabel4j.model.Classifier;

/**
 * Builds the classifier {@code relabel eval} evaluates from its command-line arguments: a hook between the
 * evaluation CLI and the model code ({@code org.relabel4j.model}), so that each can be built and tested on its
 * own.
 */
@FunctionalInterface
public interface ModelLoader {
    /**
     * The model named by {@code model} (an architecture name such as {@code resnet50}, or a TorchScript file) with
     * {@code classes} outputs, with the weights of {@code checkpoint} (a state dict; null: none). Bad arguments or
     * files are an IllegalArgumentException or IOException that names them.
     */
    Classifier load(String model, Path checkpoint, int classes) throws IOException;
}
