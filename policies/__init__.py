"""Ships the default policies inside the installed package (see pyproject.toml); not code."""
