"""Code-generation helpers for the toolkit generated from ``spec/openapi.yaml``."""
