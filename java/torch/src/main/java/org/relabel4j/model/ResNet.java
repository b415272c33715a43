package org.relabel4j.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * torchvision's ResNet-18/34/50/101/152 (v1.5: in a Bottleneck the stride is on the 3x3 convolution) on LibTorch
 * modules, with torchvision's parameter and buffer names, shapes and order ({@code conv1.weight},
 * {@code bn1.running_mean}, {@code layer1.0.conv1.weight}, {@code layer2.0.downsample.0.weight},
 * {@code layer2.0.downsample.1.num_batches_tracked}, ..., {@code fc.weight}, {@code fc.bias}), so that torchvision
 * state dicts load by name ({@link StateDicts#load}) and ours load into torchvision.
 *
 * <p>Initialization as torchvision: convolutions kaiming normal (fan_out, ReLU), batch norms weight 1 and bias 0,
 * {@code fc} nn.Linear's default; with {@link ModelOptions#zeroInitResidual()} the last batch norm of every
 * residual branch starts at weight 0. {@link #forward}: conv1, bn1, ReLU, 3x3/2 max pool, layer1-4, global average
 * pool, fc. {@link #forwardDense}: the same without the pooling, fc as a 1x1 convolution, giving {@code
 * [B,C,H/32,W/32]} (a 224 input gives 7x7). Ownership: see {@link ModuleClassifier}.
 */
public final class ResNet extends ModuleClassifier {
    /** The five depths: block type and blocks per stage. */
    public enum Arch {
        RESNET18(false, 2, 2, 2, 2),
        RESNET34(false, 3, 4, 6, 3),
        RESNET50(true, 3, 4, 6, 3),
        RESNET101(true, 3, 4, 23, 3),
        RESNET152(true, 3, 8, 36, 3);

        final boolean bottleneck;
        final int[] blocks;

        Arch(boolean bottleneck, int... blocks) {
            this.bottleneck = bottleneck;
            this.blocks = blocks;
        }

        /** torchvision's name, e.g. "resnet50". */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Channels of the features before pooling: 512 (18, 34) or 2048 (50, 101, 152). */
        public int featureChannels() {
            return 512 * (bottleneck ? 4 : 1);
        }

        /** The arch named {@code id} (e.g. "resnet50", any case), or null. */
        public static Arch of(String id) {
            for (Arch a : values()) if (a.id().equalsIgnoreCase(id)) return a;
            return null;
        }
    }

    /** A residual block: BasicBlock (two 3x3) or Bottleneck (1x1, 3x3 with the stride, 1x1 to 4x). */
    private static final class Block {
        final Conv2dImpl conv1, conv2, conv3;
        final BatchNorm2dImpl bn1, bn2, bn3;
        final Conv2dImpl downConv;
        final BatchNorm2dImpl downBn;

        Block(Conv2dImpl conv1, BatchNorm2dImpl bn1, Conv2dImpl conv2, BatchNorm2dImpl bn2, Conv2dImpl conv3,
              BatchNorm2dImpl bn3, Conv2dImpl downConv, BatchNorm2dImpl downBn) {
            this.conv1 = conv1;
            this.bn1 = bn1;
            this.conv2 = conv2;
            this.bn2 = bn2;
            this.conv3 = conv3;
            this.bn3 = bn3;
            this.downConv = downConv;
            this.downBn = downBn;
        }

        Tensor forward(Tensor x) {
            Tensor out = torch.relu_(bn1.forward(conv1.forward(x)));
            out = bn2.forward(conv2.forward(out));
            if (conv3 != null) out = bn3.forward(conv3.forward(torch.relu_(out)));
            Tensor identity = downConv != null ? downBn.forward(downConv.forward(x)) : x;
            return torch.relu_(out.add_(identity));
        }

        /** The last batch norm of the residual branch. */
        BatchNorm2dImpl lastNorm() {
            return bn3 != null ? bn3 : bn2;
        }
    }

    private final Arch arch;
    private final Conv2dImpl conv1;
    private final BatchNorm2dImpl bn1;
    private final List<Block> blocks = new ArrayList<>();
    private final LinearImpl fc;

    /** A ResNet of torchvision's layout with {@code classes} outputs (null options: {@link ModelOptions#defaults()}). */
    public ResNet(Arch arch, int classes, ModelOptions options) {
        super(arch.id(), "ResNet", classes, options);
        if (!this.options.batchNorm())
            throw new IllegalArgumentException("ResNets are built with batch norm (model.norm none is for small-cnn)");
        this.arch = arch;
        Module root = root();
        conv1 = conv(root, "conv1", 3, 64, 7, 2, 3);
        bn1 = batchNorm(root, "bn1", 64);
        long inplanes = 64;
        int expansion = arch.bottleneck ? 4 : 1;
        for (int stage = 0; stage < 4; ++stage) {
            long planes = 64L << stage;
            int stride = stage == 0 ? 1 : 2;
            Module layer = container(root, "layer" + (stage + 1));
            for (int b = 0; b < arch.blocks[stage]; ++b) {
                int s = b == 0 ? stride : 1;
                Module m = container(layer, Integer.toString(b));
                Block block;
                Conv2dImpl dc = null;
                BatchNorm2dImpl db = null;
                if (arch.bottleneck) {
                    Conv2dImpl c1 = conv(m, "conv1", inplanes, planes, 1, 1, 0);
                    BatchNorm2dImpl b1 = batchNorm(m, "bn1", planes);
                    Conv2dImpl c2 = conv(m, "conv2", planes, planes, 3, s, 1);
                    BatchNorm2dImpl b2 = batchNorm(m, "bn2", planes);
                    Conv2dImpl c3 = conv(m, "conv3", planes, planes * expansion, 1, 1, 0);
                    BatchNorm2dImpl b3 = batchNorm(m, "bn3", planes * expansion);
                    if (s != 1 || inplanes != planes * expansion) {
                        Module down = container(m, "downsample");
                        dc = conv(down, "0", inplanes, planes * expansion, 1, s, 0);
                        db = batchNorm(down, "1", planes * expansion);
                    }
                    block = new Block(c1, b1, c2, b2, c3, b3, dc, db);
                } else {
                    Conv2dImpl c1 = conv(m, "conv1", inplanes, planes, 3, s, 1);
                    BatchNorm2dImpl b1 = batchNorm(m, "bn1", planes);
                    Conv2dImpl c2 = conv(m, "conv2", planes, planes, 3, 1, 1);
                    BatchNorm2dImpl b2 = batchNorm(m, "bn2", planes);
                    if (s != 1 || inplanes != planes) {
                        Module down = container(m, "downsample");
                        dc = conv(down, "0", inplanes, planes, 1, s, 0);
                        db = batchNorm(down, "1", planes);
                    }
                    block = new Block(c1, b1, c2, b2, null, null, dc, db);
                }
                blocks.add(block);
                inplanes = planes * expansion;
            }
        }
        fc = linear(root, "fc", inplanes, classes);
        if (this.options.zeroInitResidual()) {
            try (NoGradGuard g = new NoGradGuard()) {
                for (Block b : blocks) torch.zeros_(b.lastNorm().weight());
            }
        }
    }

    public ResNet(Arch arch, int classes) {
        this(arch, classes, null);
    }

    public Arch arch() {
        return arch;
    }

    /** Channels F of {@link #features}. */
    public int featureChannels() {
        return arch.featureChannels();
    }

    @Override
    protected Tensor featuresOf(Tensor images) {
        Tensor x = torch.relu_(bn1.forward(conv1.forward(images)));
        x = torch.max_pool2d(x, new long[] {3, 3}, new long[] {2, 2}, new long[] {1, 1}, new long[] {1, 1}, false);
        for (Block b : blocks) x = b.forward(x);
        return x;
    }

    @Override
    protected LinearImpl head() {
        return fc;
    }
}
