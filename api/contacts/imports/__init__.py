"""CSV imports of contacts: a file stored with its import, applied in chunks by a job."""
