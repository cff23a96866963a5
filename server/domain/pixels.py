"""Only pixels leave an uploaded photo: what we re-encode carries nothing the uploader wrote into it.

Pillow keeps what a decoder read from the file in `Image.info`, and copies it through `convert`,
`copy` and `thumbnail`; its JPEG writer then writes `info["comment"]` back as a COM segment. So a
comment such as `<script>...` survived the re-encode into every stored rendition, while EXIF/GPS
(written only when asked for) did not. Clearing `info` before saving keeps the pixels and nothing
else, whatever later Pillow versions start carrying over.
"""

from __future__ import annotations

from PIL import Image


def pixels_only(picture: Image.Image) -> Image.Image:
    """`picture` with no metadata left to write (comments, text chunks, XMP, EXIF, colour profile)."""
    picture.info.clear()
    return picture
