"""Contacts: the customers a workspace asks and rewards, keyed by the partner's external id."""
