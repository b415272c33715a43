package org.relabel4j.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a test needs from outside the repository (the golden fixtures, a dataset): locally a test whose input is
 * absent is skipped with the reason printed; where {@code RELABEL_REQUIRE_FIXTURES} is set (to anything but "" or
 * "0"; {@code .ci/run} sets it) it fails, so that CI cannot pass with its golden tests skipped.
 */
public final class Required {
    /** The environment variable that turns a skip for a missing input into a failure. */
    public static final String SWITCH = "RELABEL_REQUIRE_FIXTURES";

    private Required() {}

    /** Whether missing inputs fail (CI) rather than skip (a developer's machine). */
    public static boolean enforced() {
        return enforced(System.getenv(SWITCH));
    }

    static boolean enforced(String value) {
        return value != null && !value.isEmpty() && !value.equals("0");
    }

    /** Skips the calling test, printing {@code why}, when {@code present} is false; fails it where enforced. */
    public static void present(boolean present, String why) {
        present(present, why, enforced());
    }

    static void present(boolean present, String why, boolean enforced) {
        if (present) return;
        if (enforced) fail(why + " (" + SWITCH + "=" + System.getenv(SWITCH) + ": required)");
        System.err.println("SKIPPED: " + why);
        assumeTrue(false, why);
    }
}
