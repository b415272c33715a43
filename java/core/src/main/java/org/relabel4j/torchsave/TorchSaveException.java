package org.relabel4j.torchsave;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file that {@link TorchSave} cannot read: not a torch.save file, truncated, corrupt, or using a feature this
 * reader does not support. The message starts with the file and says what is wrong.
 */
public class TorchSaveException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;

    public TorchSaveException(Path file, String message) {
        this(file, message, null);
    }

    public TorchSaveException(Path file, String message, Throwable cause) {
        super((file != null ? file + ": " : "") + message, cause);
        this.file = file;
    }

    /** The file that could not be read (null when unknown). */
    public Path file() {
        return file;
    }
}
