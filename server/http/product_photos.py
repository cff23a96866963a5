"""Product photos: operators upload them (the raw image as the body); anyone may fetch them."""

from __future__ import annotations

import logging

from aiohttp import web

from ..domain.accounts.roles import Role
from ..domain.commerce.catalog import MAX_PHOTOS
from ..domain.errors import InvalidInput
from .auth import require_role
from .commerce_keys import COMMERCE
from .commerce_models import ProductPublic, product_public
from .openapi import api
from .products import _id

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.post("/api/products/{product_id}/photos")
@api("Add a photo (JPEG, PNG or WebP as the body; kept as a re-encoded JPEG without metadata)",
     tag="catalog", role=Role.OPERATOR, response=ProductPublic, status=201)
async def add_photo(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    commerce = request.app[COMMERCE]
    product = await commerce.catalog.require(_id(request, "product_id"))
    if len(product.photos) >= MAX_PHOTOS:
        raise InvalidInput(f"a product has at most {MAX_PHOTOS} photos")
    url = await commerce.photos.save(await request.read())
    photos = [*product.photos, url] if url not in product.photos else list(product.photos)
    product = await commerce.catalog.update(product.id or 0, photos=photos)
    commerce.forget_caches()
    await commerce.live.product_changed(product.id or 0)
    return web.json_response(product_public(product).model_dump(mode="json"), status=201)


@routes.get(r"/media/products/{name:[0-9a-f]{64}\.jpg}")
async def photo(request: web.Request) -> web.StreamResponse:
    # Who may call: anyone; product photos are public, named by their hash (never guessable paths).
    path = request.app[COMMERCE].photos.path(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "image/jpeg",
        "X-Content-Type-Options": "nosniff",
    })
