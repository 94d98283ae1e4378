"""Files: uploads, access-checked downloads with byte ranges, message attachments and their clean-up."""
from kraken.channels.service import CHANNEL_CLEANUPS
from kraken.communities.service import COMMUNITY_CLEANUPS
from kraken.files.routes import bp
from kraken.files.service import delete_for_channels, delete_for_community

# Deleting a channel or a community leaves no file behind, on disk or in the database.
CHANNEL_CLEANUPS.append(lambda channel_ids: delete_for_channels(channel_ids))
COMMUNITY_CLEANUPS.append(delete_for_community)

__all__ = ["bp"]
