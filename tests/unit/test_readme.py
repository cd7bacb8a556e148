"""The README works in a fresh clone: every link and path it names is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_links_point_inside_the_repository():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    targets += re.findall(r"`((?:docs|server|web|tests|bench|migrations)/[^`*<> ]*)`", text)
    assert "../" not in text, "a clone has nothing outside the repository"
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert missing == []
    assert (ROOT / "docs" / "rules.md").exists()


def test_every_setting_is_in_the_readme():
    """Each channel's settings (issue 17) and every other one: an operator reads them there."""
    from dataclasses import fields

    from server.settings import Settings

    text = (ROOT / "README.md").read_text()
    nested = {"sla": "FIELDOPS_SLA_", "roster": "FIELDOPS_ROSTER_", "equipment": "FIELDOPS_EQUIPMENT_"}
    names = [nested.get(f.name, f"FIELDOPS_{f.name.upper()}") for f in fields(Settings)]
    assert [n for n in names if f"`{n}" not in text] == []
