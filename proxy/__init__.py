"""privacy-proxy: detect and transform personal data before it reaches an LLM vendor, and keep
every exchange in the company's own database."""

__version__ = "0.1.0"
