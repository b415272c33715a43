package org.relabel4j.torchsave;

import java.util.Objects;

/**
 * A Python class or function named by a pickle ({@code GLOBAL module name}), for instance {@code torch.device}. It
 * appears in results only where the pickled value was the class or function itself (such as a {@code torch.float32}
 * dtype in a checkpoint), or as the {@link PyObject#type() type} of a placeholder object.
 */
public record PyGlobal(String module, String name) {
    public PyGlobal {
        Objects.requireNonNull(module, "module");
        Objects.requireNonNull(name, "name");
    }

    /** {@code module.name}, e.g. {@code collections.OrderedDict}. */
    public String qualifiedName() {
        return module + "." + name;
    }

    @Override
    public String toString() {
        return qualifiedName();
    }
}
