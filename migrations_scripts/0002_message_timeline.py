"""Number every message in its channel and give it its history bucket (kraken.messages.timeline).

Before this, history was read by `(channelId, _id)` order, which the default store can only answer by
reading the whole collection. Messages without a number get the next numbers of their channel in `_id`
order (the order history showed them in), a channel at a time, in bulk writes; the channel's counter
is moved past them first. Idempotent and resumable: numbered messages are left alone, so a run that
stopped half-way goes on where it stopped. Run it before the app serves (`make run` and the docker
image do): a message sent meanwhile would get a number below the older ones of its channel.
"""
from pymongo import ReturnDocument, UpdateOne

# FerretDB 1.24 on PostgreSQL holds a connection for each statement of an `update` command until the
# command ends (its pool is 100, services/ferretdb/main.go): a few dozen statements per bulk write.
BATCH = 25


def up(db, echo):
    from kraken.messages.timeline import bucket_key

    old_index = "channelId_1__id_-1"  # history by _id, replaced by (bucket, -seq)
    if old_index in db.messages.index_information():
        db.messages.drop_index(old_index)
        echo(f"  dropped index messages.{old_index}")

    # the indexes this script and the new history read by (the app declares the same ones, same names)
    db.messages.create_index([("channelId", 1)])
    db.messages.create_index([("bucket", 1), ("seq", -1)])

    channel_ids = [c["_id"] for c in db.channels.find({}, {"_id": 1})]
    numbered = 0
    for index, channel_id in enumerate(channel_ids, 1):
        # one equality (pushed down to the store's index); the missing numbers are picked out here
        todo = sorted((m["_id"] for m in db.messages.find({"channelId": channel_id}, {"_id": 1, "seq": 1})
                       if m.get("seq") is None))
        if not todo:
            continue
        top = db.message_counters.find_one_and_update({"_id": channel_id}, {"$inc": {"seq": len(todo)}},
                                                      upsert=True, return_document=ReturnDocument.AFTER)["seq"]
        first = top - len(todo) + 1
        for start in range(0, len(todo), BATCH):
            ops = [UpdateOne({"_id": message_id}, {"$set": {"seq": first + start + i,
                                                            "bucket": bucket_key(channel_id, first + start + i)}})
                   for i, message_id in enumerate(todo[start:start + BATCH])]
            db.messages.bulk_write(ops, ordered=False)
            numbered += len(ops)
            echo(f"  channel {index}/{len(channel_ids)}: {min(start + BATCH, len(todo))}/{len(todo)} messages "
                 f"numbered ({numbered} in all)")
    echo(f"  {numbered} messages numbered in {len(channel_ids)} channels")
