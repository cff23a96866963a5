"""Application keys for verified-buyer reviews (set by server.features.testimonials)."""

from __future__ import annotations

from aiohttp import web

from ..domain.voice.reviews import ReviewService
from ..persistence.review_files import DiskPhotoFiles

REVIEWS = web.AppKey("reviews", ReviewService)
REVIEW_FILES = web.AppKey("review_files", DiskPhotoFiles)
