package io.quantbridge.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ReportHtmlTest {
    private static int count(String haystack, String needle) {
        int n = 0;
        for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** The text of the first {@code <svg>} element (the SQNR chart). */
    private static String firstSvg(String html) {
        int start = html.indexOf("<svg");
        return html.substring(start, html.indexOf("</svg>", start));
    }

    @Test
    void isSelfContained() {
        String html = ReportWriter.toHtml(Fixtures.report());
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertTrue(html.contains("<meta charset=\"utf-8\">"));
        assertTrue(html.contains("<style>"));
        for (String forbidden : List.of("<script", "http://", "https://", "src=", "href=", "@import", "url(",
                "<link", "<iframe", "<object")) {
            assertFalse(html.contains(forbidden), forbidden);
        }
    }

    @Test
    void escapesEveryUserText() {
        String evil = "<script>alert(\"x\")</script> & 'q'";
        QuantReport r = new QuantReport("Report " + evil, evil, Fixtures.WHEN,
                List.of(Fixtures.stats(evil, 12.0, 0.5), Fixtures.stats("ok", 33.0)),
                List.of(new AccuracyRow(evil, 90.0)), List.of("note " + evil));
        String html = ReportWriter.toHtml(r);
        assertFalse(html.contains("<script"), "raw script tag");
        assertFalse(html.contains("alert(\"x\")"), "raw quotes");
        String escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
        assertTrue(html.contains("<title>Report " + escaped + "</title>"));
        assertTrue(html.contains("<td class=\"name\">" + escaped.replace("/", "/<wbr>") + "</td>"), "wraps after '/'");
        assertTrue(html.contains("<li>note " + escaped + "</li>"));
        assertTrue(count(html, escaped) >= 7, "title, heading, meta, card, accuracy, note, table, charts");
        assertEquals("\uFFFD", Html.esc("\u0001"));
    }

    @Test
    void hasTheSummaryChartsAndTableWorstFirst() {
        String html = ReportWriter.toHtml(Fixtures.report());
        assertEquals(2, count(html, "<svg"));
        assertTrue(html.contains("3 / 4"), "quantized of all");
        assertTrue(html.contains("17.3 dB"), "worst SQNR, one decimal");
        String table = html.substring(html.indexOf("<table class=\"layers\">"));
        int fc = table.indexOf("fc/<wbr>MatMul");
        int dw = table.indexOf("features/<wbr>3/<wbr>Conv2D");
        int conv = table.indexOf("features/<wbr>0/<wbr>Conv2D");
        int head = table.indexOf("head/<wbr>MatMul");
        assertTrue(0 < fc && fc < dw && dw < conv && conv < head, "worst first, float last");
        assertTrue(table.contains("<td class=\"n sqnr poor\">17.3</td>"));
        assertTrue(table.contains("<td class=\"n sqnr fair\">25.5</td>"));
        assertTrue(table.contains("<td class=\"n sqnr good\">41.0</td>"));
        assertTrue(table.contains("<tr class=\"float\">"));
        assertTrue(table.contains(">Conv2d<br><span class=\"strategy\">Quant_INT8-8</span></td>"), "short op name");
        assertTrue(table.contains(">Conv2d<br><span class=\"strategy\">float</span></td>"));
        assertTrue(table.contains(">2\u2009%</td>"), "clipped share in percent");
        assertFalse(html.contains("<table class=\"accuracy\">"), "no accuracy table without rows");
    }

    @Test
    void sqnrBarsAreColouredByThresholdInWorstFirstOrder() {
        String svg = firstSvg(ReportWriter.toHtml(Fixtures.report()));
        Matcher m = Pattern.compile("<rect [^>]*fill=\"(#[0-9a-f]{6})\"").matcher(svg);
        List<String> fills = new ArrayList<>();
        while (m.find()) {
            fills.add(m.group(1));
        }
        assertEquals(List.of(SvgCharts.RED, SvgCharts.AMBER, SvgCharts.GREEN), fills);
        assertTrue(svg.indexOf(">fc/MatMul<") < svg.indexOf(">features/3/Conv2D<"));
        assertTrue(svg.contains(">20 dB<") && svg.contains(">30 dB<"), "threshold lines are labelled");
        assertFalse(svg.contains("head/MatMul"), "float layers have no bar");
    }

    @Test
    void accuracyTableShowsTheChange() {
        String html = ReportWriter.toHtml(Fixtures.report().withAccuracy(List.of(new AccuracyRow("float", 97.5),
                new AccuracyRow("PTQ", 96.25), new AccuracyRow("QAT", 97.75))));
        String table = html.substring(html.indexOf("<table class=\"accuracy\">"), html.indexOf("</table>"));
        assertTrue(table.contains("Change vs float"));
        assertTrue(table.contains("<td>float</td><td class=\"n\">97.50</td><td class=\"n\">\u2013</td>"), table);
        assertTrue(table.contains("<td>PTQ</td><td class=\"n\">96.25</td><td class=\"n down\">\u22121.25</td>"), table);
        assertTrue(table.contains("<td>QAT</td><td class=\"n\">97.75</td><td class=\"n\">+0.25</td>"), table);
        String fractions = ReportWriter.toHtml(Fixtures.report().withAccuracy(List.of(new AccuracyRow("float", 0.975),
                new AccuracyRow("PTQ", 0.9625))));
        assertTrue(fractions.contains("<td>PTQ</td><td class=\"n\">0.9625</td><td class=\"n down\">\u22120.0125</td>"),
                fractions);
    }

    @Test
    void saysSoWhenNothingIsClipped() {
        QuantReport r = QuantReport.of("t", "torch", List.of(Fixtures.stats("a", 35.0, 0.0)));
        String html = ReportWriter.toHtml(r);
        assertEquals(1, count(html, "<svg"));
        assertTrue(html.contains("No input value of any quantized layer is clipped"));
    }

    @Test
    void chartsShowAtMostTheLimitButTheTableListsAll() {
        List<LayerStats> many = new ArrayList<>();
        for (int i = 0; i < 55; i++) {
            many.add(Fixtures.stats("layer" + i + "/Conv2D", 10.0 + i, 0.001 * i));
        }
        String html = ReportWriter.toHtml(QuantReport.of("t", "torch", many));
        assertEquals(ReportHtml.CHART_LIMIT, count(firstSvg(html), "<rect "));
        assertTrue(html.contains("the worst 40 of 55 quantized layers are shown"));
        assertTrue(html.contains("the first 40 of 54 clipping layers are shown"));   // layer0 clips nothing
        assertTrue(html.contains("1 other quantized layer clips no input value."));
        assertEquals(55, count(html, "<td class=\"name\">"));
        assertTrue(html.contains("layer54/Conv2D"));
    }

    @Test
    void emptyReportStillRenders() {
        String html = ReportWriter.toHtml(QuantReport.of("t", "torch", List.of()));
        assertTrue(html.contains("No quantized layer"));
        assertTrue(html.endsWith("</html>\n"));
    }

    @Test
    void formatsNumbers() {
        assertEquals("0.002913", Html.num(0.0029134));
        assertEquals("41.12", Html.num(41.1171));
        assertEquals("1.500e-05", Html.num(1.5e-5));
        assertEquals("\u22120.8133", Html.num(-0.81326));
        assertEquals("0", Html.num(0.0));
        assertEquals("\u221e", Html.num(Double.POSITIVE_INFINITY));
        assertEquals("\u2013", Html.num(null));
        assertEquals("\u221e", Html.db(Double.POSITIVE_INFINITY));
        assertEquals("\u22123.0", Html.db(-3.0));
        assertEquals("1.23\u2009%", Html.pct(0.0123));
        assertEquals("Linear", Html.shortOp("<class 'torch.nn.modules.linear.Linear'>"));
        assertEquals("DepthwiseConv2dNative", Html.shortOp("DepthwiseConv2dNative"));
        assertEquals("ab\u2026fg", Html.middle("abcdefg", 5));
        assertEquals("abc", Html.middle("abc", 5));
        assertEquals("encoder/layers/38/se\u2026ojection/dense/MatMul",
                Html.middle("encoder/layers/38/self_attention/output_projection/dense/MatMul", 42));
    }

    @Test
    void axisIsRound() {
        assertEquals(60.0, SvgCharts.axis(51.5, 10)[0]);
        assertEquals(140.0, SvgCharts.axis(126, 10)[0]);
        assertEquals(20.0, SvgCharts.axis(126, 10)[1]);
        assertEquals(2.5, SvgCharts.axis(2.1, 0)[0], 1e-12);
        assertEquals(0.5, SvgCharts.axis(2.1, 0)[1], 1e-12);
    }
}
