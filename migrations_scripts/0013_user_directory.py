"""The users' search index (`user_grams`, `user_gram_counts`) built for the users that exist, the new
indexes of `users` (banned, createdAt) and `appearance_settings`
(docs/decisions/0063-running-an-instance-from-the-client.md).

Idempotent and resumable: the index collections are emptied and rebuilt from `users` on every run, so an
interrupted run is finished by the next one. Run before the servers start (as every migration), while no
one registers.
"""


def up(db, echo):
    from kraken.appearance.models import AppearanceSettings
    from kraken.users.directory import UserGram, UserGramCount, rebuild
    from kraken.users.models import User

    for document in (User, AppearanceSettings, UserGram, UserGramCount):
        document.ensure_indexes()
    db["user_grams"].delete_many({})
    db["user_gram_counts"].delete_many({})
    users = db["users"].find({}, {"username": 1, "email": 1, "displayName": 1, "createdAt": 1})
    echo(f"  user search index: {rebuild(users)} user(s) indexed")
