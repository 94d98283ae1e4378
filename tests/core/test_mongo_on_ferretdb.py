"""MongoEngine features Kraken relies on, proved against the real FerretDB (no mocks)."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from mongoengine import Document, IntField, ListField, NotUniqueError, StringField


class Gadget(Document):
    meta = {"collection": "test_gadgets",
            "indexes": [{"fields": ["name"], "unique": True},
                        {"fields": ["tag"], "unique": True, "sparse": True},
                        {"fields": ["group", "-seq"]}]}
    name = StringField(required=True)
    tag = StringField()
    group = StringField()
    seq = IntField()
    members = ListField(StringField())
    left = IntField()


@pytest.fixture(autouse=True)
def gadgets(app):
    Gadget.ensure_indexes()
    yield
    Gadget.drop_collection()


def test_unique_index_refuses_duplicates():
    Gadget(name="a").save()
    with pytest.raises(NotUniqueError):
        Gadget(name="a").save()


def test_sparse_unique_index_allows_many_missing_values():
    Gadget(name="a").save()
    Gadget(name="b").save()
    Gadget(name="c", tag="t").save()
    with pytest.raises(NotUniqueError):
        Gadget(name="d", tag="t").save()


def test_add_to_set_and_pull_are_applied_in_place():
    g = Gadget(name="a", members=["x"]).save()
    Gadget.objects(id=g.id).update_one(add_to_set__members="y")
    Gadget.objects(id=g.id).update_one(add_to_set__members="y")
    assert Gadget.objects(id=g.id).first().members == ["x", "y"]
    Gadget.objects(id=g.id).update_one(pull__members="x")
    assert Gadget.objects(id=g.id).first().members == ["y"]


def test_counts_and_cursor_pagination_on_an_index():
    for i in range(25):
        Gadget(name=f"g{i}", group="G", seq=i).save()
    assert Gadget.objects(group="G").count() == 25
    seen, cursor = [], None
    while True:
        query = Gadget.objects(group="G")
        if cursor is not None:
            query = query.filter(seq__lt=cursor)
        page = list(query.order_by("-seq").limit(10))
        seen += [g.seq for g in page]
        if len(page) < 10:
            break
        cursor = page[-1].seq
    assert seen == list(range(24, -1, -1))


def test_conditional_updates_are_atomic_under_concurrency():
    """20 racing conditional decrements of a counter allowing 5: exactly 5 win (needs the write proxy)."""
    g = Gadget(name="counter", left=5, members=[]).save()

    def take(i):
        return Gadget.objects(id=g.id, left__gt=0, members__ne=str(i)).update_one(
            dec__left=1, push__members=str(i))

    with ThreadPoolExecutor(20) as pool:
        wins = sum(pool.map(take, range(20)))
    fresh = Gadget.objects(id=g.id).first()
    assert wins == 5 and fresh.left == 0 and len(fresh.members) == 5


def test_concurrent_increments_are_not_lost():
    g = Gadget(name="hits", seq=0).save()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda _: Gadget.objects(id=g.id).update_one(inc__seq=1), range(50)))
    assert Gadget.objects(id=g.id).first().seq == 50
