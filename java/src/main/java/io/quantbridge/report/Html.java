package io.quantbridge.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/** Escaping and number formatting for the HTML page and its SVG charts. */
final class Html {
    /** Shown where a value is absent. */
    static final String NONE = "\u2013";

    private Html() {
    }

    /** Text safe in element content and in double- or single-quoted attributes (null: empty). */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    // Control characters other than tab/newline are not allowed in HTML text.
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                        sb.append('\uFFFD');
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }

    /** {@code digits} significant digits, plain notation from 1e-4 to 1e6, else scientific. */
    static String num(Double v, int digits) {
        if (v == null) {
            return NONE;
        }
        if (v.isNaN()) {
            return "NaN";
        }
        if (v.isInfinite()) {
            return v > 0 ? "\u221e" : "\u2212\u221e";
        }
        if (v == 0.0) {
            return "0";
        }
        double a = Math.abs(v);
        String out;
        if (a >= 1e-4 && a < 1e6) {
            out = new BigDecimal(v).round(new MathContext(digits)).stripTrailingZeros().toPlainString();
        } else {
            out = String.format(Locale.ROOT, "%." + (digits - 1) + "e", v);
        }
        return out.startsWith("-") ? "\u2212" + out.substring(1) : out;
    }

    /** Four significant digits. */
    static String num(Double v) {
        return num(v, 4);
    }

    /** A dB value with one decimal. */
    static String db(Double v) {
        if (v == null || v.isNaN() || v.isInfinite()) {
            return num(v);
        }
        String s = String.format(Locale.ROOT, "%.1f", v);
        return s.startsWith("-") ? "\u2212" + s.substring(1) : s;
    }

    /** A fraction as a percentage with three significant digits ({@code 0.0123} gives {@code 1.23 %}). */
    static String pct(Double fraction) {
        if (fraction == null) {
            return NONE;
        }
        return num(fraction * 100.0, 3) + "\u2009%";
    }

    /** {@code [lo, hi]}, or the absent mark when either is missing. */
    static String range(Double lo, Double hi, int digits) {
        if (lo == null || hi == null) {
            return NONE;
        }
        return "[" + num(lo, digits) + ", " + num(hi, digits) + "]";
    }

    /** The short op name: {@code <class 'torch.nn.modules.conv.Conv2d'>} gives {@code Conv2d}. */
    static String shortOp(String opType) {
        String s = opType.trim();
        if (s.startsWith("<class '") && s.endsWith("'>")) {
            s = s.substring(8, s.length() - 2);
        }
        int dot = s.lastIndexOf('.');
        return dot >= 0 && dot < s.length() - 1 ? s.substring(dot + 1) : s;
    }

    /** {@code poor}, {@code fair}, {@code good} or {@code none} for an output SQNR. */
    static String band(Double db) {
        if (db == null || db.isNaN()) {
            return "none";
        }
        if (db < QuantReport.POOR_BELOW_DB) {
            return "poor";
        }
        return db < QuantReport.FAIR_BELOW_DB ? "fair" : "good";
    }

    /** {@code s} cut to {@code max} characters by an ellipsis in the middle (the ends name a layer best). */
    static String middle(String s, int max) {
        int n = s.codePointCount(0, s.length());
        if (n <= max) {
            return s;
        }
        int head = (max - 1) / 2;
        int tail = max - 1 - head;
        return s.substring(0, s.offsetByCodePoints(0, head)) + "\u2026"
                + s.substring(s.offsetByCodePoints(s.length(), -tail));
    }
}
