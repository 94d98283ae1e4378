"""Mention spans (kraken-head-features §4, docs/decisions/0061-alias-groups.md): `ALIAS_MENTION` names a
group of the message's community (else a clear 400), never in a direct message; `COMMUNITY_MENTION`
carries an opaque id (the current client puts a channel's id there for `#channel`); the a169fe1 types
still work; spans round-trip in message JSON."""
import pytest
from bson import ObjectId

from kraken.messages.models import Message

NULLS = {"text": None, "userId": None, "specialKind": None, "channelId": None, "communityId": None, "aliasId": None}


def _group(api, community_id, name, *members):
    response = api.post(f"/api/alias-groups/community/{community_id}",
                        json={"name": name, "memberIds": [str(m.id) for m in members]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _send(api, channel_id, *spans):
    return api.post("/api/messages", json={"channelId": str(channel_id), "spans": list(spans)})


def test_an_alias_mention_of_the_communitys_group_is_stored_and_round_trips(community):
    gid = _group(community.api("admin"), community.id, "oncall", community.mod)
    member = community.api("member")
    spans = [{"type": "PLAINTEXT", "text": "ping "}, {"type": "ALIAS_MENTION", "text": "@oncall", "aliasId": gid},
             {"type": "COMMUNITY_MENTION", "text": "#general", "communityId": str(community.general.id)},
             {"type": "CHANNEL_MENTION", "channelId": str(community.general.id)},
             {"type": "USER_MENTION", "text": "@mod", "userId": str(community.mod.id)},
             {"type": "SPECIAL_MENTION", "text": "@here", "specialKind": "here"}]
    sent = _send(member, community.general.id, *spans)
    assert sent.status_code == 201, sent.get_json()
    expected = [{**NULLS, **span} for span in spans]
    assert sent.get_json()["spans"] == expected
    history = member.get(f"/api/messages/channel/{community.general.id}").get_json()["messages"]
    assert history[0]["id"] == sent.get_json()["id"] and history[0]["spans"] == expected
    stored = Message.objects(id=sent.get_json()["id"]).get()
    assert stored.spans[1]["aliasId"] == gid


def test_an_alias_mention_outside_the_community_is_a_clear_400(community):
    elsewhere = _group(community.api("outsider"), community.elsewhere.id, "theirs")
    member = community.api("member")
    for alias_id in (elsewhere, str(ObjectId())):
        refused = _send(member, community.general.id, {"type": "ALIAS_MENTION", "text": "@x", "aliasId": alias_id})
        assert refused.status_code == 400
        assert refused.get_json()["message"] == ["spans: a mentioned alias group is not in this community"]
    for span in ({"type": "ALIAS_MENTION", "text": "@x"}, {"type": "ALIAS_MENTION", "aliasId": "nope"},
                 {"type": "ALIAS_MENTION", "aliasId": {"$ne": None}}):
        refused = _send(member, community.general.id, span)
        assert refused.status_code == 400, refused.get_json()
    assert Message.objects.count() == 0


@pytest.mark.parametrize("opaque", ["general", "elsewhere_general", "random", "community"])
def test_a_community_mention_carries_any_id_without_a_look_up(community, opaque):
    value = {"general": str(community.general.id), "elsewhere_general": str(community.elsewhere_general.id),
             "random": str(ObjectId()), "community": str(community.id)}[opaque]
    sent = _send(community.api("member"), community.general.id,
                 {"type": "COMMUNITY_MENTION", "text": "#somewhere", "communityId": value})
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["spans"] == [{**NULLS, "type": "COMMUNITY_MENTION", "text": "#somewhere",
                                         "communityId": value}]


def test_a_malformed_community_mention_id_is_a_400(community):
    refused = _send(community.api("member"), community.general.id,
                    {"type": "COMMUNITY_MENTION", "text": "#x", "communityId": "general"})
    assert refused.status_code == 400 and Message.objects.count() == 0


def test_a_direct_message_takes_community_mentions_but_no_alias_mention(community):
    from kraken.errors import ValidationError
    from kraken.messages import service as messages
    from kraken.messages.schemas import DirectMessageIn
    gid = _group(community.api("admin"), community.id, "oncall", community.member)

    def send(span):
        return messages.send_direct(community.member, DirectMessageIn.model_validate(
            {"directMessageGroupId": str(community.dm.id), "spans": [span]}))

    stored = send({"type": "COMMUNITY_MENTION", "text": "#general", "communityId": str(community.general.id)})
    assert stored.spans[0]["communityId"] == str(community.general.id)
    with pytest.raises(ValidationError) as refused:
        send({"type": "ALIAS_MENTION", "text": "@oncall", "aliasId": gid})
    assert refused.value.message == ["spans: a direct message cannot mention an alias group"]


def test_edits_check_alias_mentions_too(community):
    gid = _group(community.api("admin"), community.id, "oncall")
    other = _group(community.api("outsider"), community.elsewhere.id, "theirs")
    member = community.api("member")
    mid = _send(member, community.general.id, {"type": "PLAINTEXT", "text": "hi"}).get_json()["id"]
    ok = member.patch(f"/api/messages/{mid}", json={"spans": [{"type": "ALIAS_MENTION", "text": "@oncall",
                                                               "aliasId": gid}]})
    assert ok.status_code == 200 and ok.get_json()["spans"][0]["aliasId"] == gid
    refused = member.patch(f"/api/messages/{mid}", json={"spans": [{"type": "ALIAS_MENTION", "aliasId": other}]})
    assert refused.status_code == 400
    assert Message.objects(id=mid).get().spans[0]["aliasId"] == gid
