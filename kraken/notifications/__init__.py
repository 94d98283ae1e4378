"""In-app notifications: who is told about a message, the bell's list and counts, per-user settings (HF §3)."""
