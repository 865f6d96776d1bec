"""Settings: the TOML file read into typed dataclasses, and the one precedence rule.

Owns config keys, their validation and flag > environment > file > default. Imports only
the base layer (:mod:`chatfn.errors`, :mod:`chatfn.output`).
"""
