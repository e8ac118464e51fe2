"""Integrations in: other services' events turned into ours (Stripe purchases, refunds)."""
