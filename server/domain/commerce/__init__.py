"""In-stream commerce: catalog, communities, group-buys, flash claims, coupons, pricing, orders."""
