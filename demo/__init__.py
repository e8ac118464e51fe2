"""A pretend customer's site, on a second origin, embedding the Flipfunnel widgets."""
