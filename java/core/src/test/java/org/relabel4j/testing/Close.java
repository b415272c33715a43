package org.relabel4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import org.relabel4j.nd.NdArray;

/** Element-wise comparisons with a message that names the worst element. */
public final class Close {
    private Close() {}

    /** |got - want| <= rtol * |want| + atol everywhere, and the same shape. */
    public static void assertClose(String what, NdArray want, NdArray got, double rtol, double atol) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        assertClose(what, want.toFloatArray(), got.toFloatArray(), rtol, atol);
    }

    public static void assertClose(String what, float[] want, float[] got, double rtol, double atol) {
        if (want.length != got.length) fail(what + ": " + got.length + " values, expected " + want.length);
        int bad = 0, worst = -1;
        double worstExcess = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < want.length; ++i) {
            double err = Math.abs((double) got[i] - want[i]), allowed = rtol * Math.abs(want[i]) + atol;
            if (!(err <= allowed)) {
                ++bad;
                double excess = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err - allowed;
                if (excess > worstExcess || worst < 0) {
                    worstExcess = excess;
                    worst = i;
                }
            }
        }
        if (bad > 0)
            fail(String.format("%s: %d of %d values off (rtol %.1g, atol %.1g); worst [%d]: got %.9g, want %.9g", what,
                    bad, want.length, rtol, atol, worst, got[worst], want[worst]));
    }

    public static double maxAbs(NdArray a) {
        double m = 0;
        for (long i = 0; i < a.numel(); ++i) m = Math.max(m, Math.abs(a.getFloat(i)));
        return m;
    }
}
