"""Fetch an event's image for a post: http(s) only, an image type, a size cap and a timeout."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from . import http

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's limit for images
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


class ImageUnavailable(Exception):
    """The image could not be fetched or is not an image we can post."""


@dataclass(frozen=True)
class Image:
    """The bytes of an image and their media type."""

    content: bytes
    content_type: str


def fetch_image(url: str, timeout: float = 10.0, max_bytes: int = MAX_IMAGE_BYTES) -> Image:
    """GET the image; calendar text chose the URL, so nothing but a small image is accepted."""
    if not url.startswith(("http://", "https://")):
        raise ImageUnavailable(f"not an http(s) URL: {url[:100]!r}")
    session = http.plain_session(timeout, url)
    try:
        with session.get(url, stream=True, allow_redirects=True) as resp:
            if resp.status_code != 200:
                raise ImageUnavailable(f"{url[:100]} answered HTTP {resp.status_code}")
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype not in IMAGE_TYPES:
                raise ImageUnavailable(f"{url[:100]} is not a JPEG, PNG, GIF or WebP image ({ctype or 'no type'})")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ImageUnavailable(f"{url[:100]} is larger than {max_bytes // (1024 * 1024)} MB")
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise ImageUnavailable(f"{url[:100]}: {http.describe(exc)}") from None
    finally:
        session.close()
    return Image(b"".join(chunks), ctype)
