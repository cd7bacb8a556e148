"""Photos from the field are re-encoded on the server before they are stored (issue 11).

Whatever the phone sent (JPEG, PNG or WebP, as base64), the stored photo is a fresh JPEG
written by Pillow from the decoded pixels: a file that only starts like an image (a PNG
signature followed by HTML or a script) is refused, metadata (EXIF, GPS) is dropped, the
orientation is applied, and the served bytes are always the image Pillow wrote. Pillow is
the well-kept library for this (decoders fuzzed upstream, decompression-bomb limit).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is a decompression bomb
MAX_SIDE = 2560  # the phone sends ~1280 px; larger is shrunk, never refused for size
FORMATS = ("JPEG", "PNG", "WEBP")
CONTENT_TYPE = "image/jpeg"


def decode(value: str) -> bytes:
    """The bytes the phone sent, from base64 or a data: URL (empty when unreadable)."""
    data = value.split(",", 1)[1] if value.startswith("data:") else value
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return b""


def reencode(content: bytes) -> bytes | None:
    """The photo as a new JPEG (quality 85, at most MAX_SIDE px a side), or None when the
    bytes are not a whole JPEG/PNG/WebP image Pillow can decode."""
    from PIL import Image, ImageOps

    if not content:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=FORMATS) as probe:
                probe.verify()  # structure and checksums of the whole file
            with Image.open(io.BytesIO(content), formats=FORMATS) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.load()  # decodes every pixel: truncated data fails here
                picture = ImageOps.exif_transpose(image).convert("RGB")
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()
    except (OSError, SyntaxError, ValueError, TypeError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):  # fmt: skip
        return None
