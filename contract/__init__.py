"""Contract tests for any server that claims to implement spec/openapi.yaml.

`python -m contract --base-url URL --token-env NAME --project-id P` runs Schemathesis (stateless
and stateful, every check on) and the behaviours the spec states but cannot encode, cleans up
what it made, and writes JUnit XML and a self-contained HTML report. See contract/README.md.
"""
