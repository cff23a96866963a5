"""Products: operators create and change them; anyone may read the catalog."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..domain.accounts.roles import Role
from ..domain.commerce.catalog import check_photos, new_product
from ..domain.commerce.text import clean_line
from .auth import require_role
from .body import read_json
from .commerce_keys import COMMERCE
from .commerce_models import ProductPublic, product_public
from .openapi import api
from .params import path_int

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    gtin: str = Field(default="", max_length=14)
    unit: str = Field(min_length=1, max_length=40)
    price_fen: int = Field(gt=0, le=100_000_000)
    stock: int = Field(ge=0, le=10_000_000)
    photos: list[str] = Field(default_factory=list, max_length=9)


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, min_length=1, max_length=40)
    price_fen: int | None = Field(default=None, gt=0, le=100_000_000)
    photos: list[str] | None = Field(default=None, max_length=9)


class StockChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delta: int = Field(ge=-10_000_000, le=10_000_000, description="units to add (negative: take away)")


def _id(request: web.Request, name: str) -> int:
    return path_int(request, name)


@routes.get("/api/products")
@api("List the products on sale", tag="catalog", role=None, response=ProductPublic, list_response=True)
async def list_products(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    products = await request.app[COMMERCE].catalog.list()
    return web.json_response([product_public(p).model_dump(mode="json") for p in products])


@routes.post("/api/products")
@api("Create a product", tag="catalog", role=Role.OPERATOR, body=ProductCreate, response=ProductPublic, status=201)
async def create_product(request: web.Request) -> web.Response:
    who = await require_role(request, Role.OPERATOR)
    body = ProductCreate.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    product = await commerce.catalog.add(new_product(
        name_zh=body.name_zh, name_en=body.name_en, gtin=body.gtin, unit=body.unit, price_fen=body.price_fen,
        stock=body.stock, photos=body.photos, now=commerce.clock(),
    ))
    logger.info("product %s created by %s", product.id, who.label)
    return web.json_response(product_public(product).model_dump(mode="json"), status=201)


@routes.get("/api/products/{product_id}")
@api("One product", tag="catalog", role=None, response=ProductPublic)
async def get_product(request: web.Request) -> web.Response:
    await require_role(request, Role.VIEWER)
    product = await request.app[COMMERCE].catalog.require(_id(request, "product_id"))
    return web.json_response(product_public(product).model_dump(mode="json"))


@routes.patch("/api/products/{product_id}")
@api("Change a product's names, unit, price or photos", tag="catalog", role=Role.OPERATOR, body=ProductUpdate, response=ProductPublic)
async def update_product(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = ProductUpdate.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    fields: dict[str, object] = {}
    if body.name_zh is not None:
        fields["name_zh"] = clean_line(body.name_zh, field="name_zh", max_len=60)
    if body.name_en is not None:
        fields["name_en"] = clean_line(body.name_en, field="name_en", max_len=80, min_len=0)
    if body.unit is not None:
        fields["unit"] = clean_line(body.unit, field="unit", max_len=20)
    if body.price_fen is not None:
        fields["price_fen"] = body.price_fen
    if body.photos is not None:
        fields["photos"] = check_photos(body.photos)
    product = await commerce.catalog.update(_id(request, "product_id"), **fields)
    commerce.forget_caches()
    await commerce.live.product_changed(product.id or 0)
    return web.json_response(product_public(product).model_dump(mode="json"))


@routes.post("/api/products/{product_id}/stock")
@api("Add or take away stock", tag="catalog", role=Role.OPERATOR, body=StockChange, response=ProductPublic)
async def change_stock(request: web.Request) -> web.Response:
    await require_role(request, Role.OPERATOR)
    body = StockChange.model_validate(await read_json(request))
    commerce = request.app[COMMERCE]
    product_id = _id(request, "product_id")
    await commerce.catalog.require(product_id)
    product = await commerce.stock_change(product_id, body.delta)
    await commerce.live.units_changed(product_id, None)
    return web.json_response(product_public(product).model_dump(mode="json"))
