package org.relabel4j.nd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfTest {
    @Test
    void everyHalfRoundTrips() {
        for (int h = 0; h < 65536; ++h) {
            float f = Half.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(((h & 0x7c00) == 0x7c00) && (h & 0x3ff) != 0);
                continue;
            }
            assertEquals((short) h, Half.fromFloat(f), "half " + Integer.toHexString(h));
        }
    }

    @Test
    void roundsToNearestEven() {
        assertEquals(0x3c00, Half.fromFloat(1f + 0x1p-11f));  // halfway between 1 and 1+2^-10: to even (1)
        assertEquals(0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f));  // halfway, odd below: up
        assertEquals(0x3c01, Half.fromFloat(1f + 0x1p-11f + 0x1p-20f));  // just above halfway: up
        assertEquals(0x7bff, Half.fromFloat(65504f));
        assertEquals(0x7bff, Half.fromFloat(65519.99f));
        assertEquals(0x7c00, Half.fromFloat(65520f));  // rounds to infinity
        assertEquals((short) 0xfc00, Half.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals(0x0001, Half.fromFloat(0x1p-24f));  // smallest subnormal
        assertEquals(0x0000, Half.fromFloat(0x1p-25f));  // halfway to zero: even
        assertEquals(0x0001, Half.fromFloat(0x1p-25f * 1.0001f));
        assertEquals(0x3555, Half.fromFloat(1f / 3));
    }
}
