package org.relabel4j.nd;

/**
 * IEEE binary16 conversions with the same semantics as the native core (native/src/common.h): exact widening,
 * round-to-nearest-even narrowing (what torch's {@code Tensor.half()} does), overflow to infinity.
 */
public final class Half {
    private Half() {}

    /** The float value of fp16 bits {@code h} (exact). */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        if (exponent != 0) return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
        float magnitude = mantissa * 0x1p-24f;
        return sign != 0 ? -magnitude : magnitude;
    }

    /** The fp16 bits nearest to {@code f} (ties to even); beyond 65504 rounds to infinity, NaN stays NaN. */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        x &= 0x7fffffff;
        if (x >= 0x7f800000) return (short) (sign | (x > 0x7f800000 ? 0x7e00 : 0x7c00));
        if (x >= 0x477ff000) return (short) (sign | 0x7c00);
        if (x < 0x38800000) {
            if (x < 0x33000000) return (short) sign;
            int mantissa = (x & 0x7fffff) | 0x800000;
            int shift = 126 - (x >>> 23);
            int h = mantissa >>> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (h & 1) != 0)) ++h;
            return (short) (sign | h);
        }
        int h = (((x >>> 23) - 112) << 10) | ((x >>> 13) & 0x3ff);
        int rest = x & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) ++h;
        return (short) (sign | h);
    }

    /** The float value of bfloat16 bits. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }
}
