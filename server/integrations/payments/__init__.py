"""Payment providers behind the domain port (server/domain/commerce/payments.py)."""
