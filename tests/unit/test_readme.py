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
