"""Surveys: what is asked, how, and of whom (invitations and signed links)."""
