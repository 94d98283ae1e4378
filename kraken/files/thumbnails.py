"""Image thumbnails with Pillow: one bounded JPEG per image, refusing decompression bombs.

Only the header is read before the pixel count is checked, so a 30,000 × 30,000 PNG of a few KiB is
refused before any pixel is decoded. JPEGs are decoded at reduced scale (`draft`), so a 12-megapixel
photo costs a fraction of a full decode.
"""
from __future__ import annotations

import io
import warnings
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from kraken.errors import ValidationError

MAX_EDGE = 480          # KLE's video thumbnails are 480 px wide; ours fit 480 × 480
MAX_PIXELS = 40_000_000  # 40 megapixels: bigger photos than phones take, far below a bomb
QUALITY = 80
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class ImageTooLargeError(ValidationError):
    code, default_message = "IMAGE_TOO_LARGE", "The image has too many pixels for a thumbnail"


class UnreadableImageError(ValidationError):
    code, default_message = "INVALID_IMAGE", "The image could not be read"


def make(source: BinaryIO) -> bytes:
    """The JPEG thumbnail of the image in `source`. Raises ImageTooLargeError, UnreadableImageError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageTooLargeError(f"The image has {width} × {height} pixels; thumbnails are made "
                                             f"of images up to {MAX_PIXELS} pixels")
                image.draft("RGB", (MAX_EDGE, MAX_EDGE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                image.seek(0)  # an animation's first frame
                thumb = ImageOps.exif_transpose(image)
                thumb.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
                if thumb.mode not in ("RGB", "L"):
                    background = Image.new("RGB", thumb.size, (255, 255, 255))
                    rgba = thumb.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    thumb = background
                out = io.BytesIO()
                thumb.save(out, "JPEG", quality=QUALITY, optimize=True)
                return out.getvalue()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLargeError() from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise UnreadableImageError() from None
