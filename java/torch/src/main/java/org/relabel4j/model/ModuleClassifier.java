package org.relabel4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.FanModeType;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Nonlinearity;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kFanOut;
import org.bytedeco.pytorch.kReLU;
import org.relabel4j.torch.Tensors;
import org.relabel4j.torch.Torch;

/**
 * A built-in classifier on LibTorch's C++ module API: a tree of {@code torch::nn} modules under {@link #module()},
 * a feature extractor ({@link #features}) and a linear head {@code fc}; {@link #forward} is global average pooling
 * then {@code fc}, {@link #forwardDense} applies {@code fc} as a 1x1 convolution to the features instead.
 *
 * <p><b>Ownership and memory.</b> The model owns its modules: {@link #close()} releases them (their parameters are
 * freed once no tensor handle or optimizer refers to them any more); it may be built inside or outside a
 * {@code PointerScope}, which does not free it. Every forward method runs in its own {@code PointerScope}, so its
 * intermediate handles are freed when it returns; the returned tensor belongs to the caller's innermost open
 * {@code PointerScope} (or, with none open, to the garbage collector or the caller's {@code close()}). Callers that
 * loop should open a scope per iteration. Not thread-safe (like a {@code torch::nn::Module}).
 */
public abstract class ModuleClassifier implements Classifier {
    private final String name;
    private final int classes;
    protected final ModelOptions options;
    private final Module root;
    private final List<Pointer> owned = new ArrayList<>();
    private long inChannels = -1;
    private boolean closed;

    protected ModuleClassifier(String name, String typeName, int classes, ModelOptions options) {
        if (classes < 1) throw new IllegalArgumentException(name + ": classes must be >= 1, got " + classes);
        Torch.init();
        this.name = name;
        this.classes = classes;
        this.options = options == null ? ModelOptions.defaults() : options;
        if (this.options.seed() != null) torch.manual_seed(this.options.seed());
        this.root = own(new Module(typeName));
    }

    // ---- building (subclass constructors) ----

    private <P extends Pointer> P own(P p) {
        p.retainReference();  // a PointerScope open around the constructor must not free the modules
        owned.add(p);
        return p;
    }

    /** The root module. */
    protected final Module root() {
        return root;
    }

    /** An empty container module registered as {@code name} under {@code parent} (like an nn.Sequential). */
    protected final Module container(Module parent, String name) {
        Module m = new Module(name);
        parent.register_module(name, m);
        return own(m);
    }

    /** A bias-free convolution with torchvision's init: kaiming normal, fan_out, ReLU gain. */
    protected final Conv2dImpl conv(Module parent, String name, long in, long out, long kernel, long stride,
                                    long padding) {
        Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(kernel, kernel));
        o.stride().put(0, stride).put(1, stride);  // not put(stride, stride): that is put(index, value)
        o.padding().put(new LongPointer(padding, padding));
        o.bias().put(false);
        Conv2dImpl c = new Conv2dImpl(o);
        parent.register_module(name, c);
        try (NoGradGuard g = new NoGradGuard()) {
            torch.kaiming_normal_(c.weight(), 0.0, new FanModeType(new kFanOut()), new Nonlinearity(new kReLU()));
        }
        if (inChannels < 0) inChannels = in;
        return own(c);
    }

    /** Batch norm with the options' momentum and eps, weight 1 and bias 0. */
    protected final BatchNorm2dImpl batchNorm(Module parent, String name, long channels) {
        BatchNormOptions o = new BatchNormOptions(channels);
        o.momentum().put(options.bnMomentum());
        o.eps().put(options.bnEps());
        BatchNorm2dImpl bn = new BatchNorm2dImpl(o);
        parent.register_module(name, bn);
        try (NoGradGuard g = new NoGradGuard()) {
            torch.ones_(bn.weight());
            torch.zeros_(bn.bias());
        }
        return own(bn);
    }

    /** nn.Linear with PyTorch's default init (uniform, bound 1/sqrt(in), for weight and bias). */
    protected final LinearImpl linear(Module parent, String name, long in, long out) {
        LinearImpl l = new LinearImpl(in, out);
        parent.register_module(name, l);
        return own(l);
    }

    // ---- the network ----

    /** Features before global pooling, {@code [B,F,h,w]}, computed within the caller's scope rules. */
    protected abstract Tensor featuresOf(Tensor images);

    /** The classifier head {@code fc}: weight {@code [C,F]}, bias {@code [C]}. */
    protected abstract LinearImpl head();

    /** Features before global pooling, {@code [B,F,h,w]} (see the class comment for ownership). */
    public final Tensor features(Tensor images) {
        check(images);
        return Scoped.call(() -> featuresOf(images));
    }

    @Override
    public Tensor forward(Tensor images) {
        check(images);
        return Scoped.call(() -> {
            Tensor pooled = torch.adaptive_avg_pool2d(featuresOf(images), 1, 1).flatten(1, -1);
            return head().forward(pooled);
        });
    }

    @Override
    public Tensor forwardDense(Tensor images) {
        check(images);
        return Scoped.call(() -> dense(featuresOf(images), head()));
    }

    /**
     * The features computed once; the logits as {@link #forward} computes them (global average pooling, then
     * {@code fc}) and the dense logits as {@link #forwardDense} (fc as a 1x1 convolution). Both are differentiable
     * in every parameter. The returned tensors belong to the caller's scope (see the class comment).
     */
    @Override
    public LogitsAndDense forwardWithDense(Tensor images) {
        check(images);
        Tensor[] out = Scoped.callAll(() -> {
            Tensor f = featuresOf(images);
            return new Tensor[] {head().forward(torch.adaptive_avg_pool2d(f, 1, 1).flatten(1, -1)), dense(f, head())};
        });
        return new LogitsAndDense(out[0], out[1]);
    }

    /** {@code fc} applied at every position of {@code features}: a 1x1 convolution with the head's weights. */
    static Tensor dense(Tensor features, LinearImpl fc) {
        Tensor w = fc.weight();
        long[] s = Tensors.shape(w);
        Tensor b = fc.bias();
        return torch.conv2d(features, w.view(s[0], s[1], 1, 1), b.defined() ? new TensorOptional(b) : new TensorOptional(),
                new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
    }

    private void check(Tensor images) {
        if (closed) throw new IllegalStateException(name + " is closed");
        long[] s = Tensors.shape(images);
        if (s.length != 4 || (inChannels > 0 && s[1] != inChannels))
            throw new IllegalArgumentException(name + " takes images [B," + inChannels + ",H,W], got "
                    + Arrays.toString(s));
    }

    // ---- Classifier ----

    @Override
    public String name() {
        return name;
    }

    @Override
    public int classes() {
        return classes;
    }

    @Override
    public void train(boolean on) {
        root.train(on);
    }

    /** Whether the model is in train mode. */
    public boolean isTraining() {
        return root.is_training();
    }

    @Override
    public TensorVector parameters() {
        return root.parameters(true);
    }

    @Override
    public void to(Device device) {
        root.to(device, false);
    }

    /** The root {@code torch::nn::Module} (e.g. for LibTorch optimizers or {@code pretty_print}); owned by this model. */
    public Module module() {
        return root;
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", root, true, out);
        return out;
    }

    @Override
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", root, false, out);
        return out;
    }

    /** torch's state_dict order: a module's own parameters, then its own buffers, then its children in order. */
    private static void collect(String prefix, Module m, boolean buffers, Map<String, Tensor> out) {
        put(prefix, m.named_parameters(false), out);
        if (buffers) put(prefix, m.named_buffers(false), out);
        StringSharedModuleDict children = m.named_children();
        for (long i = 0, n = children.size(); i < n; ++i) {
            collect(prefix + key(children.get(i).key()) + ".", children.get(i).value(), buffers, out);
        }
    }

    /**
     * Handles of their own (sharing the storage): {@code value()} points into the dictionary, which JavaCPP frees
     * once it is unreachable, possibly before the caller is done with the map.
     */
    private static void put(String prefix, StringTensorDict d, Map<String, Tensor> out) {
        for (long i = 0, n = d.size(); i < n; ++i) out.put(prefix + key(d.get(i).key()), new Tensor(d.get(i).value()));
    }

    /** JavaCPP returns null for an empty std::string key. */
    private static String key(BytePointer p) {
        return p == null ? "" : p.getString();
    }

    /** Releases the modules (idempotent); the model cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (int i = owned.size() - 1; i >= 0; --i) owned.get(i).releaseReference();
        owned.clear();
    }

    @Override
    public String toString() {
        return name + " (" + classes + " classes)";
    }
}
