package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class BraceExpansionTest {
    private static List<String> x(String p) {
        return BraceExpansion.expand(p);
    }

    @Test
    void rangesKeepZeroPadding() {
        assertEquals(List.of("train-000000.tar", "train-000001.tar", "train-000002.tar"), x("train-{000000..000002}.tar"));
        List<String> imagenet = x("/data/train-{000000..001281}.tar");
        assertEquals(1282, imagenet.size());
        assertEquals("/data/train-000010.tar", imagenet.get(10));
        assertEquals("/data/train-001281.tar", imagenet.get(1281));
        assertEquals(List.of("s8", "s9", "s10"), x("s{8..10}"));
        assertEquals(List.of("s08", "s09", "s10"), x("s{08..10}"));
        assertEquals(List.of("s008", "s009", "s010"), x("s{8..010}"));
        assertEquals(List.of("3", "2", "1"), x("{3..1}"));
        assertEquals(List.of("0", "5", "10"), x("{0..10..5}"));
        assertEquals(List.of("-1", "0", "1"), x("{-1..1}"));
        assertEquals(List.of("7"), x("{7..7}"));
    }

    @Test
    void commaListsSeveralAndNestedBraces() {
        assertEquals(List.of("a.tar", "b.tar"), x("{a,b}.tar"));
        assertEquals(List.of("x1y", "x2y", "x3y"), x("x{1,2,3}y"));
        assertEquals(List.of("a0", "a1", "b0", "b1"), x("{a,b}{0..1}"));
        assertEquals(List.of("a", "b1", "b2"), x("{a,b{1..2}}"));
        assertEquals(List.of("val-{x}.tar"), x("val-{x}.tar"));  // no comma, no range: literal
        assertEquals(List.of("{}"), x("{}"));
        assertEquals(List.of("a{1"), x("a{1"));                  // unclosed: literal
        assertEquals(List.of("p", "q", ""), x("{p,q,}"));
        assertEquals(List.of("plain.tar"), x("plain.tar"));
        assertEquals(List.of("{x1}", "{x2}"), x("{x{1,2}}"));
        assertEquals(List.of("s-00.tar", "s-01.tar", "t-00.tar", "t-01.tar"), x("{s,t}-{00..01}.tar"));
    }

    @Test
    void hugeExpansionsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> x("{0..99999999999}"));
        assertThrows(IllegalArgumentException.class, () -> x("{0..9999}{0..9999}"));
    }
}
