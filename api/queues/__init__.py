"""Queues: follow-up for unhappy customers, advocacy for promoters."""
