"""poolnas: search the design space of channel-attention pooling."""

__version__ = "0.1.0"
