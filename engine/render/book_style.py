"""The audit book's one stylesheet, embedded in every page so a book opened from disk needs nothing else."""

# Fonts: the CJK faces an auditor's machine is likely to have, Debian's Noto CJK first (the set-up
# installs it), so Chinese labels never fall back to boxes.
FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
)

CSS = f"""
:root {{ color-scheme: light; --ink: #1d2430; --muted: #5b6472; --rule: #d5dae1; --band: #f4f6f9; --accent: #1f5fa8; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font-family: {FONT_STACK}; color: var(--ink); background: #fff; line-height: 1.5; }}
header, main, table.control {{ width: auto; }}
table.control th {{ background: var(--band); font-weight: normal; color: var(--muted); }}
.broken {{ color: #a3261b; }}
p.note {{ color: var(--muted); font-size: 0.9rem; }}
footer {{ margin: 0 auto; padding: 0 1.5rem; }}
header, main {{ padding-left: 1.5rem; padding-right: 1.5rem; }}
header {{ padding-top: 1rem; }}
nav a, a {{ color: var(--accent); }}
h1 {{ font-size: 1.6rem; margin: 0.5rem 0 0.25rem; }}
h1 .en, h2 .en {{ color: var(--muted); font-weight: normal; }}
h2 {{ font-size: 1.25rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid var(--rule); padding-bottom: 0.25rem; }}
.description {{ color: var(--muted); max-width: 60rem; }}
dl.facts {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0.75rem 0; }}
dl.facts dt {{ color: var(--muted); }}
dl.facts dd {{ margin: 0; }}
code, .hash {{ font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.9em; }}
.hash {{ word-break: break-all; }}
figure.diagram {{ margin: 0; border: 1px solid var(--rule); background: #fff; min-width: 0; }}
figure.diagram .chart {{ overflow: auto; max-height: 85vh; touch-action: pan-x pan-y pinch-zoom;
  overscroll-behavior: contain; -webkit-overflow-scrolling: touch; }}
figure.diagram .chart:focus-visible {{ outline: 2px solid var(--accent); outline-offset: -2px; }}
figure.diagram svg {{ display: block; max-width: none; width: var(--w, auto); height: var(--h, auto); }}
#zoom-fit:checked ~ .chart svg {{ width: 100%; height: auto; }}
#zoom-150:checked ~ .chart svg {{ width: calc(var(--w) * 1.5); height: calc(var(--h) * 1.5); }}
#zoom-200:checked ~ .chart svg {{ width: calc(var(--w) * 2); height: calc(var(--h) * 2); }}
input.zoom {{ position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }}
.zoom-bar {{ display: flex; flex-wrap: wrap; gap: 0.25rem; align-items: center; padding: 0.35rem 0.5rem;
  border-bottom: 1px solid var(--rule); background: var(--band); color: var(--muted); font-size: 0.9rem; }}
.zoom-bar label {{ border: 1px solid var(--rule); border-radius: 0.25rem; padding: 0.1rem 0.6rem; background: #fff;
  color: var(--ink); cursor: pointer; }}
#zoom-fit:checked ~ .zoom-bar label[for="zoom-fit"], #zoom-100:checked ~ .zoom-bar label[for="zoom-100"],
#zoom-150:checked ~ .zoom-bar label[for="zoom-150"], #zoom-200:checked ~ .zoom-bar label[for="zoom-200"] {{
  background: var(--accent); border-color: var(--accent); color: #fff; }}
#zoom-fit:focus-visible ~ .zoom-bar label[for="zoom-fit"], #zoom-100:focus-visible ~ .zoom-bar label[for="zoom-100"],
#zoom-150:focus-visible ~ .zoom-bar label[for="zoom-150"], #zoom-200:focus-visible ~ .zoom-bar label[for="zoom-200"] {{
  outline: 2px solid var(--accent); outline-offset: 1px; }}
figure.diagram figcaption {{ padding: 0.25rem 0.75rem; color: var(--muted); border-top: 1px solid var(--rule); }}
.print-chart {{ display: none; }}
table {{ border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.92rem; }}
th, td {{ border: 1px solid var(--rule); padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }}
thead th {{ background: var(--band); position: sticky; top: 0; }}
tbody tr:nth-child(even) {{ background: #fafbfc; }}
td.none {{ color: var(--muted); }}
.sub {{ display: block; color: var(--muted); font-size: 0.9em; }}
ul.plain {{ margin: 0; padding-left: 1.1rem; }}
table.control {{ width: auto; }}
table.control th {{ background: var(--band); font-weight: normal; color: var(--muted); }}
.broken {{ color: #a3261b; }}
p.note {{ color: var(--muted); font-size: 0.9rem; }}
footer {{ color: var(--muted); font-size: 0.85rem; padding-bottom: 2rem; margin-top: 2rem; }}
td, th, dd, .description, h1, figcaption {{ overflow-wrap: break-word; }}
/* A phone: no sideways scrolling but the chart's own; each table row a card, its cells stacked. */
@media (max-width: 640px) {{
  header, main, footer {{ padding-left: 0.75rem; padding-right: 0.75rem; }}
  h1 {{ font-size: 1.3rem; }}
  dl.facts {{ grid-template-columns: minmax(0, max-content) minmax(0, 1fr); }}
  main table, main thead, main tbody, main tr, main th, main td {{ display: block; width: auto; }}
  main td, main th, main dd {{ overflow-wrap: anywhere; }}
  main table {{ border: 0; }}
  main thead {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }}
  main tbody tr {{ border: 1px solid var(--rule); margin: 0 0 0.6rem; }}
  main td, main tbody th {{ border: 0; border-top: 1px solid var(--rule); }}
  main td:first-child, main tbody th:first-child {{ border-top: 0; font-weight: 600; }}
  main td[data-label]::before {{ content: attr(data-label); display: block; color: var(--muted);
    font-size: 0.8em; font-weight: normal; }}
  table.control tr {{ display: grid; grid-template-columns: minmax(0, 10rem) minmax(0, 1fr); }}
  table.control th {{ border-top: 0; }}
  main table.control tbody tr {{ margin: 0; border-bottom: 0; }}
  main table.control tbody tr:last-child {{ border-bottom: 1px solid var(--rule); }}
}}
@page {{ size: A4; margin: 10mm; }}
@media print {{
  body {{ font-size: 9.5pt; line-height: 1.35; }}
  nav, .zoom-bar, input.zoom, #diagram {{ display: none !important; }}
  header, main, footer {{ padding: 0; margin: 0; max-width: none; }}
  h2 {{ break-after: avoid; margin-top: 1rem; }}
  thead th {{ position: static; }}
  thead {{ display: table-header-group; }}
  tr, li, dl.facts, figure {{ break-inside: avoid; }}
  /* nothing wider than the sheet, or Chromium shrinks the whole page (and the chart's text) to fit */
  table {{ width: 100%; font-size: 9pt; }}
  th, td {{ padding: 2pt 3pt; }}
  td, dd, code, .hash {{ overflow-wrap: anywhere; }}
  th {{ overflow-wrap: normal; }}
  a {{ color: inherit; text-decoration: none; }}
  .print-chart {{ display: block; }}
  figure.sheet {{ margin: 0; break-inside: avoid; break-before: page; }}
  figure.sheet svg {{ display: block; width: 100%; height: auto; }}
  figure.sheet figcaption {{ color: var(--muted); font-size: 8pt; padding-top: 2pt; }}
}}
"""
