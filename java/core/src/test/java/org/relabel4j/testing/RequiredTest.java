package org.relabel4j.testing;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** The CI switch: a missing input skips a test locally and fails it under RELABEL_REQUIRE_FIXTURES. */
class RequiredTest {
    @Test
    void aMissingInputSkipsLocallyAndFailsInCi() {
        assertDoesNotThrow(() -> Required.present(true, "x", true));
        assertDoesNotThrow(() -> Required.present(true, "x", false));
        TestAbortedException skipped = assertThrows(TestAbortedException.class,
                () -> Required.present(false, "no fixtures at /nowhere", false));
        assertTrue(skipped.getMessage().contains("no fixtures at /nowhere"), skipped.getMessage());
        AssertionFailedError failed = assertThrows(AssertionFailedError.class,
                () -> Required.present(false, "no fixtures at /nowhere", true));
        assertTrue(failed.getMessage().contains("no fixtures at /nowhere") && failed.getMessage().contains(Required.SWITCH),
                failed.getMessage());
    }

    @Test
    void theSwitchIsOnForAnyValueButEmptyOrZero() {
        assertFalse(Required.enforced((String) null));
        assertFalse(Required.enforced(""));
        assertFalse(Required.enforced("0"));
        assertTrue(Required.enforced("1"));
        assertTrue(Required.enforced("yes"));
    }
}
