"""Read buttons out of a page's HTML: what each one submits and what it asks first.

``buttons(html)`` answers one dict per ``<button>``: its attributes, plus ``action``, the
post target of the form it submits (its enclosing form, or the one its ``form=`` names),
and ``text``, its label.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Buttons(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, str] = {}  # form id -> action
        self.stack: list[str] = []  # actions of the open forms
        self.found: list[dict[str, str]] = []
        self.current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("hx-post") or a.get("action", "")
            self.stack.append(action)
            if a.get("id"):
                self.forms[a["id"]] = action
        elif tag == "button":
            a["action"] = self.stack[-1] if self.stack else ""
            a["text"] = ""
            self.current = a
            self.found.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.stack:
            self.stack.pop()
        elif tag == "button":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current["text"] += data.strip()


def buttons(html: str) -> list[dict[str, str]]:
    parser = _Buttons()
    parser.feed(html)
    for b in parser.found:
        if b.get("form"):
            b["action"] = parser.forms.get(b["form"], "")
    return parser.found
