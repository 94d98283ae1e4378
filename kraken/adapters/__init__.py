"""Where Kraken leans on a library's internals, one module per library (docs/decisions/0039-library-adapters.md).

Everything else uses the libraries through their public APIs. Each module here names the privates it
relies on; the library is pinned to an exact version in requirements.txt, and tests/core/test_adapters.py
fails when one of those privates changes shape, so an upgrade is a decision, not a surprise.
"""
