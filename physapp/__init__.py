"""physapp: interactive design exploration with a reference FE solver and fast surrogates."""

__version__ = "0.1.0"
