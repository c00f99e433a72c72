"""rollgate: ship ML models through git — gated, pinned by digest, rolled out by Argo."""

__version__ = "0.1.0"
