"""The users' search index gains 5-grams, the postings of every user (`ALL` by week, `ALL_HOURLY` by hour:
the list without a search) and each gram's latest creation period (`last`): rebuilt from `users` for the
instances whose index 0013 built with trigrams only
(docs/decisions/0063-running-an-instance-from-the-client.md, "Search at 100k users").

Idempotent and resumable like 0013: the index collections are emptied and rebuilt on every run. Run
before the servers start (as every migration), while no one registers.
"""


def up(db, echo):
    from kraken.users.directory import UserGram, UserGramCount, rebuild

    for document in (UserGram, UserGramCount):
        document.ensure_indexes()
    db["user_grams"].delete_many({})
    db["user_gram_counts"].delete_many({})
    users = db["users"].find({}, {"username": 1, "email": 1, "displayName": 1, "createdAt": 1})
    echo(f"  user search index (3- and 5-grams): {rebuild(users)} user(s) indexed")
