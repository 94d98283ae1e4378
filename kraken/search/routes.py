"""Search routes: a channel, a community (adds `channelName`), a direct-message group (kraken-later-endpoints §12)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from kraken.common.validation import parse_query
from kraken.rbac import (Action, Resource, access_dm_group, authorized_resource, current_grant, current_user,
                         require_actions, require_auth)
from kraken.search import service
from kraken.search.schemas import SearchQuery

bp = Blueprint("search", __name__, url_prefix="/api/messages/search")


@bp.get("/channel/<oid:channel_id>")
@require_actions(Action.READ_MESSAGE, resource=Resource.CHANNEL, id_from="path.channel_id", enter=True)
def search_channel(channel_id: str):
    query = parse_query(SearchQuery)
    return jsonify(service.search_channel(authorized_resource(), query.q, query.limit))


@bp.get("/community/<oid:community_id>")
@require_actions(Action.READ_MESSAGE, resource=Resource.COMMUNITY, id_from="path.community_id")
def search_community(community_id: str):
    query = parse_query(SearchQuery)
    return jsonify(service.search_community(authorized_resource(), current_grant(), query.q, query.limit))


@bp.get("/group/<oid:group_id>")
@require_auth
def search_group(group_id: str):
    group = access_dm_group(current_user(), group_id)
    query = parse_query(SearchQuery)
    return jsonify(service.search_group(group, query.q, query.limit))
