"""The concrete connectors, one module each."""
