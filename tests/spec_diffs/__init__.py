"""The spec-diff corpus: one YAML file per case under cases/, and the code that reads them."""
