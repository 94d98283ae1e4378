"""Helpers shared by every feature: ids, dates, request parsing, output schemas."""
