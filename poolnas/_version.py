"""The package version (one home: ``poolnas.__version__``, the study attribute and the report
read it here; pyproject.toml states the same number)."""

__version__ = "0.1.0"
