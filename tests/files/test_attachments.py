"""Message attachments (claim, attach) and clean-up when messages, channels and communities go."""
import pytest
from bson import ObjectId

from kraken.channels.models import Channel
from kraken.communities.models import Community
from kraken.errors import ConflictError, ValidationError
from kraken.files import service
from kraken.files.models import File
from tests.files.conftest import PDF, PNG, assert_nothing_stored, stored_blobs, upload


def uploads(api, channel_id, n=1, content=PNG, name="a.png", mime="image/png"):
    ids = []
    for _ in range(n):
        response = upload(api, content, name, mime, resource_id=channel_id)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


def channel(channel_id):
    return Channel.objects.get(id=channel_id)


def other_channel(admin, club) -> str:
    """A second public channel of the club, which Bob (a member) may post to."""
    response = admin.post("/api/channels", json={"name": "random", "communityId": club["id"], "type": "TEXT"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def messages_of(exc_info) -> str:
    message = exc_info.value.message
    return " | ".join(message) if isinstance(message, list) else message


def test_claim_returns_the_wire_entries_in_order_for_both_ref_shapes(alice, club, login_as):
    api = login_as(alice)
    png, pdf = uploads(api, club["general"])[0], uploads(api, club["general"], content=PDF, name="p.pdf",
                                                         mime="application/pdf")[0]
    refs = [pdf, {"url": f"/api/file/{png}", "filename": "lies.exe", "filetype": "x/y", "size": 1}]
    entries = service.claim_attachments(alice, channel(club["general"]), refs)
    assert entries == [
        {"id": pdf, "url": f"/api/file/{pdf}", "filename": "p.pdf", "filetype": "application/pdf",
         "size": len(PDF)},
        {"id": png, "url": f"/api/file/{png}", "filename": "a.png", "filetype": "image/png", "size": len(PNG)},
    ]
    assert File.objects(message_id__ne=None).count() == 0  # claiming changes nothing


@pytest.mark.parametrize("case, expected", [
    ("someone_elses", "unknown file"),
    ("wrong_channel", "another channel"),
    ("already_attached", "already attached"),
    ("unknown", "unknown file"),
    ("duplicate", "listed twice"),
    ("too_many", "at most 10"),
    ("bad_url", "url must be /api/file/<id>"),
    ("not_an_id", "expected a file id"),
    ("avatar", "unknown file"),
])
def test_claim_refuses_what_the_actor_may_not_attach(alice, bob, club, login_as, case, expected):
    general = channel(club["general"])
    mine = uploads(login_as(bob), club["general"])[0]
    refs = {
        "someone_elses": lambda: [uploads(login_as(alice), club["general"])[0]],
        "wrong_channel": lambda: [uploads(login_as(bob), other_channel(login_as(alice), club))[0]],
        "already_attached": lambda: (service.attach([mine], ObjectId()), [mine])[1],
        "unknown": lambda: [str(ObjectId())],
        "duplicate": lambda: [mine, {"url": f"/api/file/{mine}"}],
        "too_many": lambda: uploads(login_as(bob), club["general"], 11),
        "bad_url": lambda: [{"url": "https://evil.example/x.png"}],
        "not_an_id": lambda: [{"$ne": None}],
        "avatar": lambda: [upload(login_as(bob), PNG, "me.png", "image/png", "USER_AVATAR").get_json()["id"]],
    }[case]()
    with pytest.raises(ValidationError) as exc_info:
        service.claim_attachments(bob, general, refs)
    assert expected in messages_of(exc_info)


def test_attach_is_once_only(alice, club, login_as):
    first, second = uploads(login_as(alice), club["general"], 2)
    message_a, message_b = ObjectId(), ObjectId()
    service.attach([first], message_a)
    with pytest.raises(ConflictError):
        service.attach([second, first], message_b)
    assert File.objects.get(id=first).message_id == message_a
    assert File.objects.get(id=second).message_id is None  # released again
    service.attach([second], message_b)
    assert File.objects.get(id=second).message_id == message_b


def test_sending_a_message_attaches_and_deleting_it_removes_the_files(app, alice, bob, club, login_as):
    api = login_as(alice)
    fid = uploads(api, club["general"])[0]
    body = {"channelId": club["general"], "spans": [{"type": "PLAINTEXT", "text": "look"}],
            "attachments": [{"url": f"/api/file/{fid}", "filename": "a.png", "filetype": "image/png",
                             "size": len(PNG)}]}
    sent = api.post("/api/messages", json=body)
    assert sent.status_code == 201, sent.get_json()
    message = sent.get_json()
    assert message["attachments"] == [{"id": fid, "url": f"/api/file/{fid}", "filename": "a.png",
                                       "filetype": "image/png", "size": len(PNG)}]
    assert login_as(bob).get(f"/api/file/{fid}").data == PNG
    again = api.post("/api/messages", json=body)
    assert again.status_code == 400 and "already attached" in " ".join(again.get_json()["message"])
    assert api.delete(f"/api/messages/{message['id']}").status_code in (200, 204)
    assert_nothing_stored(app)


def test_delete_files_removes_bytes_and_records(app, alice, club, login_as):
    keep, gone = uploads(login_as(alice), club["general"], 2)
    assert service.delete_files([gone, str(ObjectId()), "junk"]) == 1
    assert [str(f.id) for f in File.objects] == [keep] and len(stored_blobs(app)) == 1


def test_deleting_a_channel_removes_its_files(app, alice, club, login_as):
    api = login_as(alice)
    uploads(api, club["secret"], 2)
    kept = uploads(api, club["general"])
    assert api.delete(f"/api/channels/{club['secret']}").status_code == 204
    assert [str(f.id) for f in File.objects] == kept and len(stored_blobs(app)) == 1


def test_deleting_a_community_removes_all_its_files(app, alice, bob, club, login_as):
    admin = login_as(alice)
    uploads(admin, club["general"], 2)
    uploads(admin, club["secret"])
    assert upload(admin, PNG, "c.png", "image/png", "COMMUNITY_BANNER", club["id"]).status_code == 201
    avatar = upload(login_as(bob), PNG, "me.png", "image/png", "USER_AVATAR").get_json()["id"]
    other = admin.post("/api/community", json={"name": "Other"}).get_json()["id"]
    other_general = [c["id"] for c in admin.get(f"/api/channels/community/{other}").get_json()
                     if c["name"] == "general"][0]
    elsewhere = uploads(admin, other_general)
    assert File.objects.count() == 6

    assert admin.delete(f"/api/community/{club['id']}").status_code == 204
    assert Community.objects(id=club["id"]).count() == 0
    assert sorted(str(f.id) for f in File.objects) == sorted([avatar, *elsewhere])
    assert len(stored_blobs(app)) == 2
