"""visafree: exact, explainable rules for visa-free short stays."""

__version__ = "0.1.0"
