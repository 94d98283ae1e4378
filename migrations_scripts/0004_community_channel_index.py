"""Give every community its channel index (`community_channel_index`, kraken.channels.models.CommunityChannels):
one document keyed by the community's id holding its channels' ids and the private ones among them,
which `subscribeAll` reads instead of the channel documents.

A community at a time: its channels are read with one equality (`communityId`, pushed down to the
store's index), the index is written whole (`$set`, upserted; removed for a community without
channels, which the app reads from its channels), then the channels are read again and the index
rewritten until both reads agree, so a channel created, deleted or made private meanwhile by a running
app is not lost (the app's own writes keep the index from then on). Idempotent: a second run writes
the same documents again. The index of a community that no longer exists is removed.
"""
from __future__ import annotations

PROGRESS_EVERY = 100


def _state(db, community_id) -> dict:
    return {c["_id"]: bool(c.get("isPrivate")) for c in db.channels.find({"communityId": community_id},
                                                                         {"_id": 1, "isPrivate": 1})}


def up(db, echo):
    community_ids = [c["_id"] for c in db.communities.find({}, {"_id": 1})]
    channels = 0
    for index, community_id in enumerate(community_ids, 1):
        state = _state(db, community_id)
        while True:
            if state:
                db.community_channel_index.update_one(
                    {"_id": community_id},
                    {"$set": {"channels": list(state), "private": [c for c, private in state.items() if private]}},
                    upsert=True)
            else:
                db.community_channel_index.delete_one({"_id": community_id})
            now = _state(db, community_id)
            if now == state:
                break
            state = now
        channels += len(state)
        if index % PROGRESS_EVERY == 0 or index == len(community_ids):
            echo(f"  community {index}/{len(community_ids)} indexed ({channels} channels)")
    known = set(community_ids)
    stale = [d["_id"] for d in db.community_channel_index.find({}, {"_id": 1}) if d["_id"] not in known]
    for community_id in stale:
        db.community_channel_index.delete_one({"_id": community_id})
    echo(f"  {len(community_ids)} communities indexed ({channels} channels), {len(stale)} stale index(es) removed")
