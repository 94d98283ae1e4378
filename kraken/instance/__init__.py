"""Instance-wide public information: feature flags for clients
(docs/decisions/0022-configuration-feature-flags-and-secrets.md)."""
