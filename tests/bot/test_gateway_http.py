"""The gateway's HTTP endpoints against a real running process, Redis and index."""

import time

import httpx

from tests.conftest import relevo, write_article


def test_search_returns_hits_in_the_customers_language(gateway: str) -> None:
    response = httpx.get(f"{gateway}/kb/search", params={"q": "mi maleta llegó rota 😡", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body["hits"]) == 3 and body["index_version"] >= 1
    top = body["hits"][0]
    assert top["article_id"] == "baggage-damaged-es"
    assert top["language"] == "es" and top["query_language"] == "es" and not top["fallback"]
    assert top["url"].endswith(
        "/baggage-damaged-es" + (f"#{top['anchor']}" if top["anchor"] else "")
    )
    assert set(top) >= {"score", "title", "text", "anchor"}


def test_explicit_language_and_fallback_are_reported(gateway: str) -> None:
    hits = httpx.get(
        f"{gateway}/kb/search", params={"q": "mi hijo de 8 años puede volar solo?", "lang": "es"}
    ).json()["hits"]
    assert hits[0]["article_id"] == "unaccompanied-minors-en"
    assert hits[0]["fallback"] is True and hits[0]["query_language"] == "es"


def test_a_channel_limits_the_search_to_the_articles_cited_there(gateway: str) -> None:
    query = {"q": "what is 3-D Secure?", "k": 3}
    everywhere = httpx.get(f"{gateway}/kb/search", params=query).json()["hits"]
    assert everywhere[0]["article_id"] == "payment-problems-en"  # channels: [webchat, telegram]
    for channel, found in (("social", False), ("telegram", True)):
        hits = httpx.get(f"{gateway}/kb/search", params={**query, "channel": channel}).json()
        assert ("payment-problems-en" in {h["article_id"] for h in hits["hits"]}) is found
    bad = httpx.get(f"{gateway}/kb/search", params={**query, "channel": "fax"})
    assert bad.status_code == 422 and bad.json()["problems"][0].startswith("channel: ")


def test_bad_parameters_get_422_with_a_clear_message(gateway: str) -> None:
    cases = {
        "": "q: Field required",
        "q=": "q: String should have at least 1 character",
        "q=%20%20": "q: must not be blank",
        "q=hola&k=0": "k: Input should be greater than or equal to 1",
        "q=hola&k=many": "k: Input should be a valid integer, unable to parse string as an integer",
        "q=hola&lang=fr": "lang: Input should be 'es' or 'en'",
        "q=" + "a" * 1001: "q: String should have at most 1000 characters",
    }
    for query, message in cases.items():
        response = httpx.get(f"{gateway}/kb/search?{query}")
        assert response.status_code == 422, query
        assert response.json()["error"] == "invalid request"
        assert message in response.json()["problems"], (query, response.json())


def test_a_running_gateway_picks_up_a_new_index(gateway: str, built_env: dict[str, str]) -> None:
    query = {"q": "can I take my drone and its LiPo batteries on the plane", "k": 1}
    before = httpx.get(f"{gateway}/kb/search", params=query).json()
    assert before["hits"][0]["article_id"] != "drones-en"
    kb_dir = built_env["RELEVO_KB_DIR"]
    from pathlib import Path

    write_article(
        Path(kb_dir) / "en",
        "drones.md",
        "id: drones-en\ntitle: Flying with a drone\nlanguage: en\ntags: [drone]",
        "Drones travel in checked baggage; LiPo batteries go in the cabin.",
    )
    relevo(built_env, "kb", "sync")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = httpx.get(f"{gateway}/kb/search", params=query).json()
        if after["index_version"] > before["index_version"]:
            break
        time.sleep(0.2)
    assert after["index_version"] == before["index_version"] + 1
    assert after["hits"][0]["article_id"] == "drones-en"
    health = httpx.get(f"{gateway}/healthz").json()
    assert health["index_version"] == after["index_version"]


def test_answers_link_to_article_pages_that_exist(gateway: str) -> None:
    hit = httpx.get(f"{gateway}/kb/search", params={"q": "wifi a bordo", "lang": "es"}).json()[
        "hits"
    ][0]
    page = httpx.get(hit["url"].replace("http://127.0.0.1:8080", gateway))
    assert page.status_code == 200
    assert f"<h1>{hit['title']}</h1>" in page.text
    assert 'lang="es"' in page.text
    assert 'hreflang="en"' in page.text  # the translation is one click away
    assert httpx.get(f"{gateway}/kb/articles/no-such-article").status_code == 404


def test_web_chat_page_and_widget_are_served_locally(gateway: str) -> None:
    page = httpx.get(f"{gateway}/")
    assert page.status_code == 200 and "/webchat/chat.js" in page.text
    assert "http" not in page.text.split("<body", 1)[0].replace("http-equiv", "")  # no CDN
    widget = httpx.get(f"{gateway}/webchat/widget.js")
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
