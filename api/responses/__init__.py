"""Responses: scores and comments, one per invitation, and the rollup reports read."""
