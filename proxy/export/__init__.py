"""Stored exchanges as training datasets: formats, content modes, filters and the manifest."""
