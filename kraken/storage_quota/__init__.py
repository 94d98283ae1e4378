"""Storage quotas: each user's stored bytes against their quota, the instance's storage views (HF §12.4)."""
