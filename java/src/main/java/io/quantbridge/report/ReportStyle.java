package io.quantbridge.report;

/** The page's inline style sheet: readable at 1280 px, and printable (A4 landscape). */
final class ReportStyle {
    static final String CSS = """
            :root { --line: #e5e7eb; --muted: #6b7280; --ink: #1f2937;
                    --poor: #fde2dc; --fair: #fff1c2; --good: #e3f5e6; }
            * { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
            html { background: #f3f4f6; }
            body { margin: 0; color: var(--ink);
                   font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
            main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 32px; background: #fff; }
            h1 { font-size: 24px; margin: 0 0 4px; overflow-wrap: anywhere; }
            h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
            .meta { margin: 0; color: var(--muted); }
            .cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin-top: 18px; }
            .card { border: 1px solid var(--line); border-left: 5px solid #9ca3af; border-radius: 6px; padding: 10px 14px; }
            .card-good { border-left-color: #2f9e44; } .card-fair { border-left-color: #f0a202; }
            .card-poor { border-left-color: #d9480f; }
            .card .k { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
            .card .v { font-size: 24px; font-weight: 600; margin: 2px 0; }
            .card .s { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
            .notes ul { margin: 0; padding-left: 20px; }
            table { border-collapse: collapse; font-size: 12.5px; }
            th, td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
            thead th { background: #f3f4f6; font-weight: 600; white-space: nowrap; }
            tr.group th { background: #fff; border-bottom: none; padding-bottom: 0; }
            tr.group th.g { text-align: center; border-bottom: 2px solid #d1d5db; }
            .n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            table.accuracy { min-width: 420px; font-size: 14px; }
            table.accuracy td.down { color: #b42318; }
            .scroll { overflow-x: auto; }
            table.layers { width: 100%; font-size: 12px; }
            table.layers tbody tr:nth-child(even) { background: #fafafa; }
            td.name { overflow-wrap: break-word; min-width: 170px; max-width: 320px;
                      font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11.5px; }
            td.op { white-space: nowrap; }
            .strategy { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11px;
                        color: var(--muted); }
            tr.float td { color: var(--muted); }
            td.sqnr { font-weight: 600; }
            td.poor { background: var(--poor); } td.fair { background: var(--fair); } td.good { background: var(--good); }
            .legend { margin: 0 0 6px; color: var(--muted); font-size: 13px; }
            .sw { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 5px 0 12px;
                  vertical-align: -1px; }
            .sw:first-child { margin-left: 4px; }
            .empty { color: var(--muted); font-style: italic; }
            svg.chart { display: block; width: 100%; max-width: 1100px; height: auto; }
            footer { margin-top: 28px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted);
                     font-size: 12px; }
            footer p { margin: 4px 0; }
            @page { size: A4 landscape; margin: 12mm; }
            @media print {
              html { background: #fff; }
              main { max-width: none; padding: 0; }
              h2 { break-after: avoid; }
              .cards, .figure, tr { break-inside: avoid; }
              thead { display: table-header-group; }
              .scroll { overflow: visible; }
              table.layers { font-size: 10px; }
            }
            """;

    private ReportStyle() {
    }
}
