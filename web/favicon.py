"""The page's icon, drawn by the server (no file to fetch elsewhere): a speech bubble with a health cross."""

from __future__ import annotations

import io
from functools import lru_cache

TEAL = (31, 111, 120, 255)
WHITE = (255, 255, 255, 255)


@lru_cache(maxsize=1)
def _image():  # type: ignore[no-untyped-def]
    from PIL import Image, ImageDraw

    side = 256  # drawn large, then scaled down: smooth edges at 16, 32 and 64 pixels
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, side - 1, side - 1), radius=56, fill=TEAL)
    draw.rounded_rectangle((36, 40, 220, 176), radius=36, fill=WHITE)  # the bubble
    draw.polygon([(70, 168), (120, 168), (62, 222)], fill=WHITE)  # its tail
    draw.rectangle((110, 62, 146, 154), fill=TEAL)  # the cross
    draw.rectangle((82, 90, 174, 126), fill=TEAL)
    return image


@lru_cache(maxsize=2)
def favicon_png(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    _image().resize((size, size)).save(buffer, format="PNG")
    return buffer.getvalue()


@lru_cache(maxsize=1)
def favicon_ico() -> bytes:
    buffer = io.BytesIO()
    _image().save(buffer, format="ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    return buffer.getvalue()
