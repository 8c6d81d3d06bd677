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
figure.diagram {{ margin: 0; border: 1px solid var(--rule); background: #fff; overflow: auto; }}
figure.diagram svg {{ display: block; max-width: 100%; height: auto; margin: 0 auto; }}
figure.diagram figcaption {{ padding: 0.25rem 0.75rem; color: var(--muted); border-top: 1px solid var(--rule); }}
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
@media print {{ figure.diagram {{ overflow: visible; }} thead th {{ position: static; }} }}
"""
