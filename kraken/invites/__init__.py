"""Invites: instance invites for registration, community invites for joining."""
