"""Read state: each user's read watermark per conversation (channel or DM group), unread and mention counts."""
