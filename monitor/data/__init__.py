"""Data shipped with the package: the example config, the demo posts, lexicons."""
