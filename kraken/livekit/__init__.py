"""LiveKit: access tokens, connection info, health, the webhook and room management."""
