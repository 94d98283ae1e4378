"""The indexes of the alias (mention) groups: a group's name unique in its community (the 409 on a taken
name, also between racing requests), one membership per (group, user), a user's groups and a
community's members by equality (docs/decisions/0061-alias-groups.md). An instance that applied 0001
before the groups existed gets them here. Idempotent: creating an existing index is a no-op."""


def up(db, echo):
    from kraken.alias_groups.models import AliasGroup, AliasGroupMember

    for document in (AliasGroup, AliasGroupMember):
        document.ensure_indexes()
        echo(f"  indexes of {document._get_collection_name()}: "
             + ", ".join(sorted(document._get_collection().index_information())))
