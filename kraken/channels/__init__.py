"""Channels: TEXT and VOICE, public and private."""
