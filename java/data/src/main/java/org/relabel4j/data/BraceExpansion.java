package org.relabel4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Brace expansion of shard patterns, as bash and WebDataset's {@code braceexpand} do it:
 * {@code train-{000000..001281}.tar} (numeric ranges; zero-padded to the wider bound when a bound has a leading
 * zero; descending when the first bound is larger; an optional step {@code {0..10..2}}), comma lists
 * {@code {a,b,c}}, several and nested braces ({@code {a,b{1..2}}} gives {@code a b1 b2}), expanded left to right.
 * A brace without a top-level comma or a valid range is kept as is (as in bash). No letter ranges, no escapes.
 */
public final class BraceExpansion {
    /** More names than this is taken as a mistake. */
    public static final int MAX_NAMES = 1_000_000;

    private static final Pattern RANGE = Pattern.compile("([+-]?[0-9]+)\\.\\.([+-]?[0-9]+)(?:\\.\\.([+-]?[0-9]+))?");

    private BraceExpansion() {}

    /** The names of {@code pattern}, in order (the pattern itself when it has no expandable brace). */
    public static List<String> expand(String pattern) {
        List<String> out = new ArrayList<>();
        expand(pattern, 0, out);
        return out;
    }

    private static void expand(String s, int from, List<String> out) {
        for (int open = s.indexOf('{', from); open >= 0; open = s.indexOf('{', open + 1)) {
            int close = matching(s, open);
            if (close < 0) break;
            List<String> alternatives = alternatives(s.substring(open + 1, close));
            if (alternatives == null) continue;  // literal brace: look for one inside or after it
            String prefix = s.substring(0, open), suffix = s.substring(close + 1);
            for (String a : alternatives) {
                // each alternative may hold braces of its own; expand prefix + a + suffix from the alternative on
                expand(prefix + a + suffix, open, out);
                if (out.size() > MAX_NAMES)
                    throw new IllegalArgumentException("pattern '" + s + "' expands to more than " + MAX_NAMES + " names");
            }
            return;
        }
        out.add(s);
    }

    /** Index of the '}' closing the '{' at {@code open}, or -1. */
    private static int matching(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return -1;
    }

    /** The alternatives of a brace's content, or null when it is not an expansion. */
    private static List<String> alternatives(String content) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < content.length(); i++) {
            char c = content.charAt(i);
            if (c == '{') depth++;
            else if (c == '}') depth--;
            else if (c == ',' && depth == 0) {
                parts.add(content.substring(start, i));
                start = i + 1;
            }
        }
        if (!parts.isEmpty()) {
            parts.add(content.substring(start));
            return parts;
        }
        Matcher m = RANGE.matcher(content);
        if (!m.matches()) return null;
        long a, b, step;
        try {
            a = Long.parseLong(m.group(1));
            b = Long.parseLong(m.group(2));
            step = m.group(3) == null ? 1 : Math.abs(Long.parseLong(m.group(3)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("range {" + content + "}: numbers too large");
        }
        if (step == 0) step = 1;
        int width = padded(m.group(1)) || padded(m.group(2)) ? Math.max(m.group(1).length(), m.group(2).length()) : 0;
        long count = (Math.abs(b - a) / step) + 1;
        if (count > MAX_NAMES) throw new IllegalArgumentException("range {" + content + "} has more than " + MAX_NAMES + " values");
        List<String> values = new ArrayList<>((int) count);
        for (long i = 0, v = a; i < count; i++, v += a <= b ? step : -step) values.add(format(v, width));
        return values;
    }

    private static boolean padded(String bound) {
        String digits = bound.startsWith("-") || bound.startsWith("+") ? bound.substring(1) : bound;
        return digits.length() > 1 && digits.charAt(0) == '0';
    }

    private static String format(long v, int width) {
        String digits = Long.toString(Math.abs(v));
        StringBuilder b = new StringBuilder(width + 1);
        if (v < 0) b.append('-');
        for (int i = digits.length() + (v < 0 ? 1 : 0); i < width; i++) b.append('0');
        return b.append(digits).toString();
    }
}
