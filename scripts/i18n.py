"""Keep the gettext catalogs in step with the code: ``python scripts/i18n.py update``.

Extracts every msgid (``_`` and ``N_`` in Python, ``_()`` in templates) into
web/locale/messages.pot and merges it into the zh_CN and en catalogs; ``check`` lists
Chinese entries still untranslated (the test suite fails on them).
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh_CN", "en")
POT = ROOT / "web" / "locale" / "messages.pot"


def _pybabel(*args: str) -> None:
    exe = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(exe), *args], cwd=ROOT, check=True, capture_output=True)


@contextmanager
def _locked():
    """Several people may update the catalogs at once: one at a time."""
    with (ROOT / "web" / "locale" / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def update() -> None:
    with _locked():
        _update()


def translate(locale: str, table: dict[str, str]) -> list[str]:
    """Fill msgstr for the given msgids (run ``update`` first); returns unknown msgids."""
    with _locked():
        po = ROOT / "web" / "locale" / locale / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            catalog = read_po(f, locale=locale)
        unknown = []
        for msgid, text in table.items():
            message = catalog.get(msgid)
            if message is None:
                unknown.append(msgid)
                continue
            message.string = text
            message.flags.discard("fuzzy")
        with po.open("wb") as f:
            write_po(f, catalog, sort_output=True, width=100)
        return unknown


def _update() -> None:
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
    # update | check | translate LOCALE FILE.json  ({"msgid": "translation", ...})
    if sys.argv[1:] == ["update"]:
        update()
    if sys.argv[1:2] == ["translate"]:
        update()
        table = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))
        for msgid in translate(sys.argv[2], table):
            print("not in the code (run update?):", msgid)
    missing = untranslated()
    for msgid in missing:
        print("untranslated (zh_CN):", msgid)
    sys.exit(1 if missing and sys.argv[1:] == ["check"] else 0)
