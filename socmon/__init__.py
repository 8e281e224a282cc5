"""socmon: social media monitoring for the communications team of an NHS Trust or a council."""

__version__ = "0.1.0"
