"""Instance-wide public information: feature flags for clients (decisions §8)."""
