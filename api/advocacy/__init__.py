"""Advocacy: testimonials with consent, review requests that never gate, advocates, acts."""
