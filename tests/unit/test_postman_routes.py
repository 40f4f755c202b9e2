"""The route a `call` check lands on in the Postman collection is the one the local cloud's gateway
routes it to (awslab/local/apigw_proxy.py): one matcher, so the two never disagree."""

from __future__ import annotations

from awslab.postman import HttpApi, match_route


def _api(*routes: tuple[str, str]) -> HttpApi:
    return HttpApi("api", "apigateway.http_api", "http://x", routes, (), False, "baseUrl", "origin")


def test_the_most_specific_route_serves_the_path() -> None:
    api = _api(("ANY", "/{proxy+}"), ("GET", "/items/{id}"), ("GET", "/items/new"), ("POST", "/items"))
    assert match_route(api, "GET", "/items/new") == ("GET", "/items/new")
    assert match_route(api, "GET", "/items/7/") == ("GET", "/items/{id}")  # a trailing slash is ignored
    assert match_route(api, "DELETE", "/items/7") == ("ANY", "/{proxy+}")
    assert match_route(_api(("GET", "/files/{proxy+}")), "GET", "/files") is None


def test_an_explicit_verb_beats_any_on_the_same_path() -> None:
    assert match_route(_api(("ANY", "/items"), ("GET", "/items")), "GET", "/items") == ("GET", "/items")


def test_the_query_is_not_part_of_the_path() -> None:
    api = _api(("GET", "/{id}"), ("GET", "/items"))
    assert match_route(api, "GET", "/items?limit=2") == ("GET", "/items")
