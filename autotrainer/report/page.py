"""What the tool's HTML pages share (the replay report and the --compare page): one stylesheet that reads on
a laptop and a phone, and tables that scroll inside their own box instead of widening the page."""

from __future__ import annotations

import html

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #222; line-height: 1.45;
       max-width: 72rem; margin: 0 auto; padding: 0.5rem 1rem 2rem; overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: 0.6rem 0; } h2 { font-size: 1.2rem; margin-top: 1.8rem; }
#verdict { border-left: 5px solid #1f77b4; background: #eef4fa; padding: 0.6rem 1rem; margin: 0.8rem 0 1.2rem; }
#verdict h2 { margin: 0.2rem 0 0.4rem; } #verdict p { margin: 0.3rem 0; }
#verdict .lead { font-size: 1.1rem; font-weight: 600; }
.scroll { overflow-x: auto; margin: 0.6rem 0 1.4rem; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 4px 9px; text-align: left; vertical-align: top; overflow-wrap: normal; }
td { white-space: nowrap; } table.facts td { white-space: normal; min-width: 12rem; }
th { background: #f2f2f2; } tbody th { font-weight: normal; background: #fafafa; }
figure { margin: 1.4rem 0; } img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #444; font-size: 0.92em; margin-top: 0.3rem; }
.note { color: #555; font-size: 0.92em; } .verdict { font-weight: bold; } dt { font-weight: 600; } dd { margin: 0 0 0.5rem 1rem; }
"""


def table(header: list[str] | None, rows: list[list[str]]) -> str:
    """A table in its own horizontally scrolling box. Numbers do not wrap (the box scrolls instead); without
    `header` it is a name/value table whose first cell names the row and whose values wrap."""
    head = "" if header is None else "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + \
        "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<th>{c}</th>" if header is None and i == 0 else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    kind = ' class="facts"' if header is None else ""
    return f'<div class="scroll"><table{kind}>{head}<tbody>{body}</tbody></table></div>'
