"""Keep the gettext catalogs in step with the code: ``python scripts/i18n.py update``.

Extracts every msgid (``_`` and ``N_`` in Python, ``_()`` in templates) into
web/locale/messages.pot and merges it into the zh_CN and en catalogs; ``check`` lists
Chinese entries still untranslated (the test suite fails on them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_CN", "en")
POT = ROOT / "web" / "locale" / "messages.pot"


def _pybabel(*args: str) -> None:
    exe = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(exe), *args], cwd=ROOT, check=True, capture_output=True)


def update() -> None:
    _pybabel("extract", "-F", "babel.cfg", "-k", "N_", "-k", "_", "-o", str(POT),
             "--no-location", "--sort-output", "--project=FieldOps", ".")
    for loc in LOCALES:
        po = ROOT / "web" / "locale" / loc / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel("update", "-i", str(POT), "-o", str(po), "-l", loc, "--no-fuzzy-matching",
                     "--ignore-obsolete")
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            _pybabel("init", "-i", str(POT), "-o", str(po), "-l", loc)


def untranslated(locale: str = "zh_CN") -> list[str]:
    po = ROOT / "web" / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    return [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    missing = untranslated()
    for msgid in missing:
        print("untranslated (zh_CN):", msgid)
    sys.exit(1 if missing and sys.argv[1:] == ["check"] else 0)
