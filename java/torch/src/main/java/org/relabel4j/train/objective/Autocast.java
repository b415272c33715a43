package org.relabel4j.train.objective;

import java.util.function.Supplier;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * LibTorch autocast around a forward pass ({@code compute.amp}): off, bf16, or fp16 (whose loss the loop scales).
 * The student's forward pass and a distillation teacher's run under the same setting.
 */
public record Autocast(boolean on, ScalarType type) {
    public static final Autocast OFF = new Autocast(false, ScalarType.Float);

    /** {@code off}, {@code bf16} or {@code fp16}. */
    public static Autocast of(String amp) {
        return switch (amp) {
            case "off" -> OFF;
            case "bf16" -> new Autocast(true, ScalarType.BFloat16);
            case "fp16" -> new Autocast(true, ScalarType.Half);
            default -> throw new IllegalArgumentException("compute.amp must be off, bf16 or fp16, got " + amp);
        };
    }

    /** Runs {@code body} with autocast on {@code device} when on; the previous autocast state is restored. */
    public Tensor run(Device device, Supplier<Tensor> body) {
        if (!on) return body.get();
        DeviceType dt = device.is_cuda() ? DeviceType.CUDA : DeviceType.CPU;
        boolean was = torch.is_autocast_enabled(dt);
        ScalarType wasType = torch.get_autocast_dtype(dt);
        boolean cache = torch.is_autocast_cache_enabled();
        torch.set_autocast_cache_enabled(false);
        torch.set_autocast_dtype(dt, type);
        torch.set_autocast_enabled(dt, true);
        try {
            return body.get();
        } finally {
            torch.set_autocast_enabled(dt, was);
            torch.set_autocast_dtype(dt, wasType);
            torch.set_autocast_cache_enabled(cache);
        }
    }
}
