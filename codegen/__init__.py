"""The generator: spec/openapi.yaml -> generated/. Run it with ``python -m codegen``."""
