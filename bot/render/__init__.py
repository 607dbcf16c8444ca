"""Renderers: results in, Block Kit (and plain text) out. No fetching, no deciding."""
