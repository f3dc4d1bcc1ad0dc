"""The labelled evaluation set and the scorer behind `privacy-proxy eval`."""
