"""Referral-code and referral-email domain logic (pure Python, no Flask or SQLAlchemy)."""
