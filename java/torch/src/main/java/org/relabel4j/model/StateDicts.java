package org.relabel4j.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.relabel4j.nd.DType;
import org.relabel4j.nd.NdArray;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;
import org.relabel4j.torchsave.PyObject;
import org.relabel4j.torchsave.TorchSave;
import org.relabel4j.torchsave.TorchSaveWriter;
import org.relabel4j.torchsave.TorchTensor;

/**
 * State dicts of {@link Classifier}s: torchvision-compatible {@code .pth} files in and out.
 *
 * <p>Reading goes through the pure-Java {@link TorchSave} reader (nothing is executed; torch &gt;= 1.6 zip files and
 * legacy files), writing through {@link TorchSaveWriter} (files that {@code torch.load} and
 * {@code model.load_state_dict} accept). Tensors are matched by name to the classifier's
 * {@link Classifier#stateDict()} (parameters and buffers), shapes are checked, dtypes converted to the model's, and
 * values copied in place under no-grad (optimizers holding the parameters stay valid; the model's device is kept).
 */
public final class StateDicts {
    private StateDicts() {}

    /** Keys under which checkpoints commonly hold the state dict, tried in this order. */
    public static final List<String> CHECKPOINT_KEYS = List.of("state_dict", "model", "state_dict_ema");

    /**
     * What {@link #load} did.
     *
     * @param file the file read
     * @param source where the state dict was in the file: {@code ""} (the top-level dict) or a checkpoint key
     * @param strippedPrefix the prefix removed from every key ({@code "module."} of DataParallel), or {@code ""}
     * @param loaded the model's keys that were copied, in the model's order
     * @param missing the model's keys absent from the file (left as they were)
     * @param unexpected the file's keys the model does not have (ignored)
     * @param defaulted {@code num_batches_tracked} buffers absent from the file (checkpoints of torch &lt; 0.4.1),
     *     set to 0 as PyTorch does; never counted as missing
     * @param converted keys whose dtype was converted, as {@code key (float16 -> float32)}
     */
    public record LoadReport(Path file, String source, String strippedPrefix, List<String> loaded, List<String> missing,
                             List<String> unexpected, List<String> defaulted, List<String> converted) {
        /** A one-line summary for logs. */
        public String summary() {
            return file + (source.isEmpty() ? "" : "[" + source + "]") + ": " + loaded.size() + " tensors loaded"
                    + (strippedPrefix.isEmpty() ? "" : ", prefix '" + strippedPrefix + "' stripped")
                    + (missing.isEmpty() ? "" : ", " + missing.size() + " missing " + abbreviate(missing))
                    + (unexpected.isEmpty() ? "" : ", " + unexpected.size() + " unexpected " + abbreviate(unexpected))
                    + (defaulted.isEmpty() ? "" : ", " + defaulted.size() + " num_batches_tracked defaulted to 0")
                    + (converted.isEmpty() ? "" : ", " + converted.size() + " converted " + abbreviate(converted));
        }
    }

    /** A state dict that does not fit a model (shapes, dtypes, missing or unexpected keys), or is not one. */
    public static final class StateDictException extends IOException {
        private static final long serialVersionUID = 1L;

        public StateDictException(String message) {
            super(message);
        }
    }

    /** The classifier's parameters and buffers by name, in state-dict order: live tensors, not copies. */
    public static Map<String, Tensor> stateDict(Classifier c) {
        return c.stateDict();
    }

    /** Host copies (C-contiguous) of the classifier's state dict, e.g. to build a checkpoint dict. */
    public static Map<String, NdArray> toHost(Classifier c) {
        Map<String, NdArray> out = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope()) {
            for (Map.Entry<String, Tensor> e : c.stateDict().entrySet()) out.put(e.getKey(), host(e.getKey(), e.getValue()));
        }
        return out;
    }

    /**
     * The classifier's state dict, as values for {@link TorchSaveWriter} that copy each tensor to the host only when
     * the writer reaches it (so a checkpoint never holds two copies of the model on the host), e.g. {@code
     * TorchSaveWriter.write(file, Map.of("state_dict", StateDicts.deferred(model), "epoch", 3))}. The values hold
     * handles on the model's tensors: write them before the model changes and before the {@code PointerScope} open
     * around this call (if any) closes.
     */
    public static Map<String, TorchSaveWriter.Deferred> deferred(Classifier c) {
        Map<String, TorchSaveWriter.Deferred> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : c.stateDict().entrySet()) {
            Tensor t = e.getValue();  // held by the supplier: the caller's scope must stay open until written
            DType d = Tensors.dtype(t);
            if (d == null) throw new IllegalArgumentException(e.getKey() + ": unsupported dtype " + Tensors.dtypeName(t));
            String key = e.getKey();
            out.put(key, new TorchSaveWriter.Deferred(d, Tensors.shape(t), () -> {
                try (PointerScope s = new PointerScope()) {
                    return host(key, t);
                }
            }));
        }
        return out;
    }

    /** Writes the classifier's state dict as a torchvision-compatible {@code .pth} (an OrderedDict of tensors). */
    public static void save(Classifier c, Path file) throws IOException {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            TorchSaveWriter.writeStateDict(file, deferred(c));
        }
    }

    private static NdArray host(String key, Tensor t) {
        if (t == null) throw new IllegalStateException("the model no longer has " + key);
        try (NoGradGuard g = new NoGradGuard()) {
            return Tensors.toNdArray(t.detach());
        }
    }

    /**
     * Loads a torchvision-compatible file into {@code c}: a plain state dict, or a checkpoint dict holding one under
     * {@link #CHECKPOINT_KEYS}; a {@code module.} prefix on every key (DataParallel) is stripped. Every tensor the
     * model has is checked (shape, dtype kind) before anything is copied, so a failed load changes nothing.
     *
     * @param strict fail when the file lacks a model key or has a key the model lacks (as PyTorch's strict
     *     {@code load_state_dict}); otherwise load the common keys and report the others. Shape mismatches always
     *     fail.
     * @throws StateDictException with the key and both shapes, or the lists of missing and unexpected keys
     */
    public static LoadReport load(Classifier c, Path file, boolean strict) throws IOException {
        Read r = read(file);
        return load(c, r.tensors(), strict, file, r.source());
    }

    /** The tensors of a state-dict file and where in the file they were ({@code ""}: the top level). */
    public record Read(Map<String, TorchTensor> tensors, String source) {}

    /**
     * Reads the state dict of a torchvision-compatible file without loading it anywhere: a plain state dict, or a
     * checkpoint dict holding one under {@link #CHECKPOINT_KEYS}.
     */
    public static Read read(Path file) throws IOException {
        Object o = TorchSave.load(file);
        if (o instanceof PyObject p && p.type().module().startsWith("__torch__"))
            throw new StateDictException(file + ": is a TorchScript module (torch.jit.save, class "
                    + p.className() + "), not a state dict: load it with TorchScriptClassifier (--model " + file
                    + " without --checkpoint)");
        if (!(o instanceof Map<?, ?> top))
            throw new StateDictException(file + ": holds " + describe(o) + ", not a state dict");
        String source = "";
        Map<?, ?> dict = top;
        if (!hasTensor(top)) {
            for (String k : CHECKPOINT_KEYS) {
                if (top.get(k) instanceof Map<?, ?> inner && hasTensor(inner)) {
                    source = k;
                    dict = inner;
                    break;
                }
            }
            if (source.isEmpty())
                throw new StateDictException(file + ": no state dict: the file's dict has no tensors and none of the "
                        + "checkpoint keys " + CHECKPOINT_KEYS + " holds one (keys: " + abbreviate(keys(top)) + ")");
        }
        Map<String, TorchTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (e.getKey() instanceof String k && e.getValue() instanceof TorchTensor t) tensors.put(k, t);
        }
        return new Read(tensors, source);
    }

    /** As {@link #load(Classifier, Path, boolean)}, from tensors already read; {@code file} names them in messages. */
    public static LoadReport load(Classifier c, Map<String, TorchTensor> tensors, boolean strict, Path file, String source)
            throws StateDictException {
        Torch.init();
        Map<String, TorchTensor> in = tensors;
        String stripped = "";
        if (!in.isEmpty() && in.keySet().stream().allMatch(k -> k.startsWith("module."))) {
            stripped = "module.";
            in = new LinkedHashMap<>();
            for (Map.Entry<String, TorchTensor> e : tensors.entrySet()) in.put(e.getKey().substring(7), e.getValue());
        }
        String where = file + (source == null || source.isEmpty() ? "" : "[" + source + "]");
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> model = c.stateDict();
            List<String> loaded = new ArrayList<>(), missing = new ArrayList<>(), defaulted = new ArrayList<>();
            List<String> converted = new ArrayList<>(), unexpected = new ArrayList<>();
            List<String> shapeErrors = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : model.entrySet()) {
                String k = e.getKey();
                TorchTensor t = in.get(k);
                if (t == null) {
                    if (k.endsWith("num_batches_tracked") || k.equals("num_batches_tracked")) defaulted.add(k);
                    else missing.add(k);
                    continue;
                }
                long[] want = Tensors.shape(e.getValue());
                DType wantType = Tensors.dtype(e.getValue());
                if (!Arrays.equals(want, t.shape())) {
                    shapeErrors.add("size mismatch for " + k + ": the file has " + Arrays.toString(t.shape())
                            + ", the model has " + Arrays.toString(want));
                    continue;
                }
                if (wantType == null)
                    throw new StateDictException(where + ": the model's " + k + " has dtype "
                            + Tensors.dtypeName(e.getValue()) + ", which cannot be loaded");
                if (t.dtype() != wantType) {
                    if (floating(t.dtype()) != floating(wantType))
                        throw new StateDictException(where + ": dtype mismatch for " + k + ": the file has "
                                + t.dtype().label() + ", the model has " + wantType.label());
                    converted.add(k + " (" + t.dtype().label() + " -> " + wantType.label() + ")");
                }
                loaded.add(k);
            }
            for (String k : in.keySet()) if (!model.containsKey(k)) unexpected.add(k);
            if (!shapeErrors.isEmpty())
                throw new StateDictException(where + " does not fit " + c.name() + ": " + String.join("; ",
                        shapeErrors.size() > 8 ? shapeErrors.subList(0, 8) : shapeErrors)
                        + (shapeErrors.size() > 8 ? "; and " + (shapeErrors.size() - 8) + " more" : ""));
            if (strict && (!missing.isEmpty() || !unexpected.isEmpty()))
                throw new StateDictException(where + " does not fit " + c.name() + " (strict): "
                        + (missing.isEmpty() ? "" : "missing keys " + abbreviate(missing))
                        + (!missing.isEmpty() && !unexpected.isEmpty() ? "; " : "")
                        + (unexpected.isEmpty() ? "" : "unexpected keys " + abbreviate(unexpected)));
            try (NoGradGuard g = new NoGradGuard()) {
                for (String k : loaded) {
                    try (PointerScope s = new PointerScope()) {
                        Tensor dst = model.get(k);
                        Tensor src = Tensors.fromNdArray(in.get(k).data());
                        dst.copy_(src);  // converts dtype and moves to dst's device
                    }
                }
                for (String k : defaulted) model.get(k).zero_();
            }
            return new LoadReport(file, source == null ? "" : source, stripped, List.copyOf(loaded), List.copyOf(missing),
                    List.copyOf(unexpected), List.copyOf(defaulted), List.copyOf(converted));
        }
    }

    private static boolean floating(DType d) {
        return d == DType.FLOAT32 || d == DType.FLOAT16 || d == DType.BFLOAT16 || d == DType.FLOAT64;
    }

    private static boolean hasTensor(Map<?, ?> m) {
        for (Object v : m.values()) if (v instanceof TorchTensor) return true;
        return false;
    }

    private static List<String> keys(Map<?, ?> m) {
        List<String> out = new ArrayList<>();
        for (Object k : m.keySet()) out.add(String.valueOf(k));
        return out;
    }

    private static String describe(Object o) {
        return o == null ? "None" : o instanceof TorchTensor t ? "a tensor " + t
                : o instanceof PyObject p ? "an object of class " + p.className()
                : "a " + o.getClass().getSimpleName();
    }

    /** The list, or its first 10 and a count. */
    static String abbreviate(List<String> l) {
        return l.size() <= 10 ? l.toString()
                : l.subList(0, 10).toString().replace("]", ", ... and " + (l.size() - 10) + " more]");
    }
}
