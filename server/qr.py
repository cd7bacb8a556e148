"""QR codes for asset-tag labels, drawn on the server as inline SVG.

segno (pure Python, no dependencies, maintained, ISO/IEC 18004 conformant, writes SVG
directly) rather than own code: QR encoding (Reed-Solomon, masking, versions) is far
outside FieldOps' core. SVG prints sharp at any size and needs no image library or
client-side JavaScript (no CDN, strict CSP).
"""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=2048)
def label_svg(asset_tag: str) -> str:
    """An ``<svg>`` element (no XML declaration) encoding the asset tag itself, so the
    phone's scanner fills the tag field with exactly what a person would type."""
    code = segno.make_qr(asset_tag, error="m")
    return code.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=True)
