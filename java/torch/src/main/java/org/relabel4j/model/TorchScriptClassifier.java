package org.relabel4j.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NamedJitModule;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.TupleElements;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.named_buffer_iterator;
import org.bytedeco.pytorch.named_buffer_list;
import org.bytedeco.pytorch.named_module_iterator;
import org.bytedeco.pytorch.named_module_list;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;
import org.bytedeco.pytorch.parameter_iterator;
import org.bytedeco.pytorch.parameter_list;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/**
 * Any TorchScript module ({@code torch.jit.script} or {@code torch.jit.trace}, then {@code .save}) as a
 * {@link Classifier}, loaded by LibTorch ({@code --model file.pt}). Inputs are float32 {@code [B,3,H,W]}, normalized
 * as the module expects, on its device.
 *
 * <p><b>The contract</b> (what {@link #forward} and {@link #forwardDense} need from the module; detected at load
 * by running {@code forward} once on a zero image in eval mode, or forced with {@link Options#contract}):
 * <ol>
 *   <li>{@link Contract#DENSE_OUTPUT}: {@code forward(x)} returns the dense logits {@code [B,C,h,w]} (the network
 *       with its global pooling removed and the classifier applied as a 1x1 convolution). {@code forwardDense} is
 *       that output; {@code forward} averages it over h and w, which equals pooling then the linear classifier.
 *   <li>{@link Contract#BACKBONE}: {@code forward(x)} returns a tuple {@code (features [B,F,h,w], weight [C,F] or
 *       [C,F,1,1], bias [C] or None)}: a backbone plus its classifier's weights. {@code forwardDense} applies the
 *       weights as a 1x1 convolution to the features; {@code forward} pools the features and applies them as a
 *       linear layer. (The annotator's fully convolutional teacher: no fine-tuning, the classifier as trained.)
 *   <li>{@link Contract#LOGITS_AND_DENSE}: {@code forward(x)} returns a tuple {@code (logits [B,C], dense)}, the
 *       dense logits as a map {@code [B,C,h,w]} or as patch tokens {@code [B,h*w,C]} (row-major positions, h = w;
 *       e.g. a ViT wrapped to return its class-token logits and the head applied to every patch token, as
 *       TokenLabeling trains them). {@code forward} is the first, {@code forwardDense} the second (tokens as the
 *       map {@code [B,C,h,w]}), and {@link #forwardWithDense} both from one pass: the student contract of dense
 *       supervision (docs/training.md has an example wrapper).
 *   <li>{@link Contract#DENSE_METHOD}: {@code forward(x)} returns logits {@code [B,C]} and the module has a method
 *       {@code forward_dense(x)} (exported with {@code @torch.jit.export}) returning {@code [B,C,h,w]}.
 *   <li>{@link Contract#FEATURES_METHOD}: {@code forward(x)} returns logits, the module has a method
 *       {@code forward_features(x)} returning {@code [B,F,h,w]} (timm's name) and a submodule {@code fc},
 *       {@code classifier} or {@code head} with a {@code weight [C,F]} (and optionally {@code bias [C]}), applied
 *       to the features as a 1x1 convolution. A torchvision ResNet scripted as is has no
 *       {@code forward_features}: wrap it (see the README) or use the built-in {@link ResNet} with its state dict.
 *   <li>{@link Contract#LOGITS}: {@code forward(x)} returns logits {@code [B,C]} and nothing else is known:
 *       {@code forwardDense} throws UnsupportedOperationException saying what the module lacks.
 * </ol>
 * Auto-detection picks, from {@code forward}'s output: a tuple whose first value is 2-D: LOGITS_AND_DENSE; another
 * tuple: BACKBONE; 4-D: DENSE_OUTPUT; 2-D: DENSE_METHOD if
 * {@code forward_dense} exists, else FEATURES_METHOD if {@code forward_features} and a head exist, else LOGITS.
 * Anything else fails to load with a message stating this contract.
 *
 * <p>{@link #parameters()}, {@link #namedParameters()} and {@link #stateDict()} are the module's own (the script's
 * attribute names, e.g. {@code body.conv.weight}), so a TorchScript model can be fine-tuned and its weights saved
 * through {@link StateDicts}. Ownership: as {@link ModuleClassifier} (forward methods scope their intermediates;
 * {@link #close()} releases the module). Not thread-safe.
 */
public final class TorchScriptClassifier implements Classifier {
    /** How the module gives logits and dense logits; see the class comment. */
    public enum Contract { DENSE_OUTPUT, BACKBONE, LOGITS_AND_DENSE, DENSE_METHOD, FEATURES_METHOD, LOGITS }

    /**
     * Load options.
     *
     * @param device where the module's tensors go ({@code map_location}); null: CPU
     * @param classes the expected number of classes, checked against the module's output; 0: take the module's
     * @param probeSize side of the zero image the module is probed with at load (default 224; use the size the
     *     module was traced at for traced modules with fixed sizes)
     * @param contract the contract to use instead of detecting it; null: detect
     */
    public record Options(Device device, int classes, int probeSize, Contract contract) {
        public Options {
            if (classes < 0) throw new IllegalArgumentException("classes must be >= 0: " + classes);
            if (probeSize < 1) throw new IllegalArgumentException("probeSize must be >= 1: " + probeSize);
        }

        public static Options defaults() {
            return new Options(null, 0, 224, null);
        }

        public Options withDevice(Device d) {
            return new Options(d, classes, probeSize, contract);
        }

        public Options withClasses(int c) {
            return new Options(device, c, probeSize, contract);
        }

        public Options withProbeSize(int s) {
            return new Options(device, classes, s, contract);
        }

        public Options withContract(Contract c) {
            return new Options(device, classes, probeSize, c);
        }
    }

    private static final String[] HEADS = {"fc", "classifier", "head"};

    private final Path file;
    private final String name;
    private final JitModule module;
    private final Contract contract;
    private final int classes;
    /** FEATURES_METHOD: the head module's name. */
    private final String headName;
    private boolean closed;

    private TorchScriptClassifier(Path file, JitModule module, Contract contract, int classes, String headName) {
        this.file = file;
        String stem = file.getFileName().toString();
        this.name = stem.contains(".") ? stem.substring(0, stem.lastIndexOf('.')) : stem;
        this.module = module;
        this.contract = contract;
        this.classes = classes;
        this.headName = headName;
    }

    /** Loads {@code file} onto the CPU, detecting the contract. */
    public static TorchScriptClassifier load(Path file) throws IOException {
        return load(file, Options.defaults());
    }

    /**
     * Loads a TorchScript module saved by {@code torch.jit.save} (torch 1.x or 2.x).
     *
     * @throws IOException the file is missing, is not TorchScript (e.g. a {@code torch.save} state dict: load it
     *     into a built-in model with {@link StateDicts#load} instead), or its output does not follow the contract
     */
    public static TorchScriptClassifier load(Path file, Options options) throws IOException {
        Torch.init();
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such TorchScript file");
        Options o = options == null ? Options.defaults() : options;
        Device device = o.device() != null ? o.device() : new Device("cpu");
        JitModule m;
        try {
            m = torch.load(file.toString(), new DeviceOptional(device), false);
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            String hint = msg.contains("constants.pkl") || msg.contains("code/")
                    ? " (this looks like a torch.save file, e.g. a state dict, not a TorchScript module: load it into "
                    + "a built-in model with StateDicts.load)" : "";
            throw new IOException(file + ": LibTorch cannot load it as a TorchScript module: " + msg + hint, e);
        }
        m.retainReference();
        try {
            return probe(file, m, o, device);
        } catch (IOException | RuntimeException e) {
            m.releaseReference();
            throw e;
        }
    }

    private static TorchScriptClassifier probe(Path file, JitModule m, Options o, Device device) throws IOException {
        boolean wasTraining = m.is_training();
        m.eval();
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            boolean denseMethod = m.find_method("forward_dense").has_value();
            boolean featuresMethod = m.find_method("forward_features").has_value();
            String head = null;
            for (String h : HEADS) {
                if (headWeight(m, h) != null) {
                    head = h;
                    break;
                }
            }
            Tensor x = torch.zeros(new long[] {1, 3, o.probeSize(), o.probeSize()},
                    new TensorOptions(device).dtype(new ScalarTypeOptional(torch.ScalarType.Float)));
            IValue out;
            try {
                out = m.forward(new IValueVector(new IValue(x)));
            } catch (RuntimeException e) {
                throw new IOException(file + ": forward on a zero image [1,3," + o.probeSize() + "," + o.probeSize()
                        + "] failed (set the probe size to one the module accepts): "
                        + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
            }
            Contract found;
            long c;
            if (out.isTuple() && logitsAndDense(out)) {
                found = Contract.LOGITS_AND_DENSE;
                Tensor[] ld = logitsAndDenseParts(file, out);
                c = Tensors.shape(ld[0])[1];
            } else if (out.isTuple()) {
                found = Contract.BACKBONE;
                Tensor[] fwb = backboneParts(file, out);
                c = Tensors.shape(fwb[1])[0];
            } else if (out.isTensor()) {
                long[] s = Tensors.shape(out.toTensor());
                if (s.length == 4) {
                    found = Contract.DENSE_OUTPUT;
                } else if (s.length == 2) {
                    found = denseMethod ? Contract.DENSE_METHOD
                            : featuresMethod && head != null ? Contract.FEATURES_METHOD : Contract.LOGITS;
                } else {
                    throw new IOException(file + ": forward returned a tensor of shape " + Arrays.toString(s)
                            + "; " + CONTRACT);
                }
                c = s[1];
            } else {
                throw new IOException(file + ": forward returned a " + tag(out) + "; " + CONTRACT);
            }
            Contract contract = o.contract() != null ? o.contract() : found;
            if (contract != found) checkForced(file, contract, found, denseMethod, featuresMethod, head);
            if (contract == Contract.FEATURES_METHOD) {
                long[] w = Tensors.shape(headWeight(m, head));
                if (w[0] != c)
                    throw new IOException(file + ": head '" + head + "' has weight " + Arrays.toString(w) + " but "
                            + "forward gives " + c + " classes");
            }
            if (o.classes() > 0 && o.classes() != c)
                throw new IOException(file + ": the module gives " + c + " classes, " + o.classes() + " expected");
            if (c > Integer.MAX_VALUE) throw new IOException(file + ": " + c + " classes");
            return new TorchScriptClassifier(file, m, contract, (int) c,
                    contract == Contract.FEATURES_METHOD ? head : null);
        } finally {
            m.train(wasTraining);
        }
    }

    private static final String CONTRACT = "expected logits [B,C], the dense map [B,C,h,w], or a tuple "
            + "(features [B,F,h,w], weight [C,F], bias [C] or None) (see TorchScriptClassifier)";

    private static void checkForced(Path file, Contract forced, Contract found, boolean denseMethod,
                                    boolean featuresMethod, String head) throws IOException {
        boolean logits = found == Contract.DENSE_METHOD || found == Contract.FEATURES_METHOD || found == Contract.LOGITS;
        boolean ok = switch (forced) {
            case LOGITS -> logits;
            case DENSE_METHOD -> logits && denseMethod;
            case FEATURES_METHOD -> logits && featuresMethod && head != null;
            case DENSE_OUTPUT, BACKBONE, LOGITS_AND_DENSE -> false;  // only when forward's output says so
        };
        if (!ok)
            throw new IOException(file + ": cannot use contract " + forced + ": the module's forward output and "
                    + "methods fit " + found + " (forward_dense: " + denseMethod + ", forward_features: "
                    + featuresMethod + ", head: " + (head == null ? "none" : head) + ")");
    }

    private static String tag(IValue v) {
        BytePointer t = v.tagKind();
        return t == null ? "value of unknown type" : t.getString();
    }

    /** features [B,F,h,w], weight [C,F] (viewed 2-D), bias [C] or null, checked. */
    private static Tensor[] backboneParts(Path file, IValue out) throws IOException {
        TupleElements e = out.toTuple().elements();
        if (e.size() < 2 || e.size() > 3 || !e.get(0).isTensor() || !e.get(1).isTensor()
                || (e.size() == 3 && !e.get(2).isTensor() && !e.get(2).isNone()))
            throw new IOException(file + ": forward returned a tuple of " + e.size() + " values; " + CONTRACT);
        Tensor f = e.get(0).toTensor(), w = e.get(1).toTensor();
        Tensor b = e.size() == 3 && e.get(2).isTensor() ? e.get(2).toTensor() : null;
        long[] fs = Tensors.shape(f), ws = Tensors.shape(w);
        boolean wOk = ws.length == 2 || (ws.length == 4 && ws[2] == 1 && ws[3] == 1);
        if (fs.length != 4 || !wOk || ws[1] != fs[1] || (b != null && !Arrays.equals(Tensors.shape(b), new long[] {ws[0]})))
            throw new IOException(file + ": forward returned features " + Arrays.toString(fs) + ", weight "
                    + Arrays.toString(ws) + ", bias " + (b == null ? "None" : Arrays.toString(Tensors.shape(b)))
                    + "; expected [B,F,h,w], [C,F] (or [C,F,1,1]) and [C] or None");
        if (ws.length == 4) w = w.view(ws[0], ws[1]);
        return new Tensor[] {f, w, b};
    }

    /** A tuple whose first value is a 2-D tensor: (logits, dense) rather than (features, weight, bias). */
    private static boolean logitsAndDense(IValue out) {
        TupleElements e = out.toTuple().elements();
        return e.size() >= 1 && e.get(0).isTensor() && e.get(0).toTensor().dim() == 2;
    }

    /** logits [B,C] and dense [B,C,h,w] (tokens [B,h*w,C] reshaped, h = w), checked. */
    private static Tensor[] logitsAndDenseParts(Path file, IValue out) throws IOException {
        TupleElements e = out.toTuple().elements();
        if (e.size() != 2 || !e.get(1).isTensor())
            throw new IOException(file + ": forward returned a tuple of " + e.size() + " values starting with logits; "
                    + "expected (logits [B,C], dense [B,C,h,w] or tokens [B,h*w,C])");
        Tensor logits = e.get(0).toTensor(), dense = e.get(1).toTensor();
        long[] ls = Tensors.shape(logits), ds = Tensors.shape(dense);
        if (ds.length == 4 && ds[0] == ls[0] && ds[1] == ls[1]) return new Tensor[] {logits, dense};
        if (ds.length == 3 && ds[0] == ls[0] && ds[2] == ls[1]) {
            long side = Math.round(Math.sqrt((double) ds[1]));
            if (side * side != ds[1])
                throw new IOException(file + ": forward returned tokens " + Arrays.toString(ds) + ": " + ds[1]
                        + " tokens are not a square grid h x h (give the patch tokens only, without a class token)");
            return new Tensor[] {logits, dense.transpose(1, 2).reshape(ds[0], ds[2], side, side)};
        }
        throw new IOException(file + ": forward returned logits " + Arrays.toString(ls) + " and dense "
                + Arrays.toString(ds) + "; expected [B,C] and [B,C,h,w] or tokens [B,h*w,C] of the same B and C");
    }

    private Tensor[] logitsAndDenseOf(Tensor images) {
        try {
            return logitsAndDenseParts(file, run("forward", images));
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static Tensor headWeight(JitModule m, String head) {
        if (!m.hasattr(head)) return null;
        IValue v = m.attr(head);
        if (!v.isObject()) return null;
        JitModule h = new JitModule(v.toObject());
        if (!h.hasattr("weight") || !h.attr("weight").isTensor()) return null;
        Tensor w = h.attr("weight").toTensor();
        return w.dim() == 2 ? w : null;
    }

    private static Tensor headBias(JitModule m, String head) {
        JitModule h = new JitModule(m.attr(head).toObject());
        if (!h.hasattr("bias")) return null;
        IValue b = h.attr("bias");
        return b.isTensor() ? b.toTensor() : null;
    }

    // ---- Classifier ----

    /** The contract in use. */
    public Contract contract() {
        return contract;
    }

    /** The file the module was loaded from. */
    public Path file() {
        return file;
    }

    /** The LibTorch module (owned by this classifier). */
    public JitModule module() {
        return module;
    }

    /** The file name without extension. */
    @Override
    public String name() {
        return name;
    }

    @Override
    public int classes() {
        return classes;
    }

    private IValue run(String method, Tensor images) {
        if (closed) throw new IllegalStateException(name + " is closed");
        IValueVector args = new IValueVector(new IValue(images));
        return method.equals("forward") ? module.forward(args) : module.get_method(method).apply(args);
    }

    @Override
    public Tensor forward(Tensor images) {
        return Scoped.call(() -> switch (contract) {
            case DENSE_OUTPUT -> spatialMean(run("forward", images).toTensor());
            case BACKBONE -> {
                Tensor[] fwb = parts(run("forward", images));
                yield torch.linear(spatialMean(fwb[0]), fwb[1], optional(fwb[2]));
            }
            case LOGITS_AND_DENSE -> logitsAndDenseOf(images)[0];
            default -> run("forward", images).toTensor();
        });
    }

    /** Both outputs of one pass: as the module returns them (LOGITS_AND_DENSE), else as {@link Classifier}'s default. */
    @Override
    public LogitsAndDense forwardWithDense(Tensor images) {
        if (contract != Contract.LOGITS_AND_DENSE) return Classifier.super.forwardWithDense(images);
        Tensor[] both = Scoped.callAll(() -> logitsAndDenseOf(images));
        return new LogitsAndDense(both[0], both[1]);
    }

    @Override
    public Tensor forwardDense(Tensor images) {
        return Scoped.call(() -> switch (contract) {
            case DENSE_OUTPUT -> run("forward", images).toTensor();
            case DENSE_METHOD -> run("forward_dense", images).toTensor();
            case LOGITS_AND_DENSE -> logitsAndDenseOf(images)[1];
            case BACKBONE -> {
                Tensor[] fwb = parts(run("forward", images));
                yield conv1x1(fwb[0], fwb[1], fwb[2]);
            }
            case FEATURES_METHOD -> conv1x1(run("forward_features", images).toTensor(), headWeight(module, headName),
                    headBias(module, headName));
            case LOGITS -> throw new UnsupportedOperationException(name + " (" + file + ") gives only logits: for "
                    + "dense logits its forward must return [B,C,h,w] or (features, weight, bias), or it must have a "
                    + "forward_dense method, or forward_features and a head named fc/classifier/head");
        });
    }

    private Tensor[] parts(IValue out) {
        try {
            return backboneParts(file, out);
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static Tensor spatialMean(Tensor x) {
        return x.mean(new long[] {2, 3}, false, new ScalarTypeOptional());
    }

    private static TensorOptional optional(Tensor t) {
        return t == null ? new TensorOptional() : new TensorOptional(t);
    }

    private static Tensor conv1x1(Tensor features, Tensor weight, Tensor bias) {
        long[] s = Tensors.shape(weight);
        return torch.conv2d(features, weight.view(s[0], s[1], 1, 1), optional(bias), new long[] {1, 1},
                new long[] {0, 0}, new long[] {1, 1}, 1);
    }

    @Override
    public void train(boolean on) {
        module.train(on);
    }

    @Override
    public TensorVector parameters() {
        TensorVector out = new TensorVector();
        parameter_list list = module.parameters(true);
        parameter_iterator end = list.end();
        for (parameter_iterator it = list.begin(); it.notEquals(end); it.increment()) out.push_back(it.multiply());
        return out;
    }

    @Override
    public void to(Device device) {
        module.to(device, false);
    }

    @Override
    public Map<String, Tensor> stateDict() {
        return named(true);
    }

    @Override
    public Map<String, Tensor> namedParameters() {
        return named(false);
    }

    /** Per module (pre-order), its own parameters then its own buffers, as torch's state_dict. */
    private Map<String, Tensor> named(boolean buffers) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        named_module_list modules = module.named_modules();
        named_module_iterator end = modules.end();
        for (named_module_iterator it = modules.begin(); it.notEquals(end); it.increment()) {
            NamedJitModule nm = it.multiply();
            BytePointer n = nm.name();
            String prefix = n == null || n.getString().isEmpty() ? "" : n.getString() + ".";
            JitModule m = nm.value();
            named_parameter_list ps = m.named_parameters(false);
            named_parameter_iterator pend = ps.end();
            for (named_parameter_iterator p = ps.begin(); p.notEquals(pend); p.increment()) add(prefix, p.multiply(), out);
            if (buffers) {
                named_buffer_list bs = m.named_buffers(false);
                named_buffer_iterator bend = bs.end();
                for (named_buffer_iterator b = bs.begin(); b.notEquals(bend); b.increment()) add(prefix, b.multiply(), out);
            }
        }
        return out;
    }

    private static void add(String prefix, NamedTensor t, Map<String, Tensor> out) {
        out.put(prefix + t.name().getString(), new Tensor(t.value()));  // a handle of its own, as in ModuleClassifier
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        module.releaseReference();
    }

    @Override
    public String toString() {
        return name + " (TorchScript " + file + ", " + contract + ", " + classes + " classes)";
    }
}
