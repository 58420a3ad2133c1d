"""The public article pages, in process: what a customer who follows a link sees."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.article_pages import article_router
from kb_index.embeddings import Embedder
from kb_index.store import IndexStore
from kb_index.sync import IndexOptions, sync_directory
from tests.conftest import write_article

WIFI = (
    "id: wifi-onboard-en\ntitle: Wi-Fi on board\nlanguage: en",
    "<!-- internal note: Wi-Fi Plus goes up to 12 EUR in January; do not publish -->\n\n"
    "Wi-Fi Plus costs 8 EUR a flight.",
)
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _client(kb_dir: Path, store: IndexStore | None = None) -> TestClient:
    app = FastAPI()
    app.include_router(article_router(kb_dir, store))
    return TestClient(app)


def test_an_editors_note_is_not_on_the_page(tmp_path: Path) -> None:
    write_article(tmp_path / "en", "wifi.md", *WIFI)
    page = _client(tmp_path).get("/kb/articles/wifi-onboard-en", headers=BROWSER)
    assert page.status_code == 200 and "8 EUR a flight" in page.text
    assert "internal note" not in page.text and "&lt;!--" not in page.text


def test_a_missing_article_is_a_page_in_the_customers_language(tmp_path: Path) -> None:
    client = _client(tmp_path)
    spanish = client.get("/kb/articles/food-onboard-es", headers=BROWSER)
    assert spanish.status_code == 404 and spanish.headers["content-type"].startswith("text/html")
    assert 'lang="es"' in spanish.text and "Este artículo ya no está disponible" in spanish.text
    assert '<a href="/">Pregunta al asistente</a>' in spanish.text
    english = client.get("/kb/articles/renamed", headers={**BROWSER, "Accept-Language": "en-GB"})
    assert "This article is no longer available" in english.text
    api = client.get("/kb/articles/food-onboard-es", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json() == {"detail": "no article 'food-onboard-es'"}


def test_of_two_files_with_one_id_the_page_shows_the_one_the_index_serves(
    tmp_path: Path, use_embedder: Embedder
) -> None:
    articles, store = tmp_path / "articles", IndexStore(tmp_path / "index")
    write_article(articles / "en", "wifi.md", *WIFI)
    sync_directory(articles, store, use_embedder, IndexOptions())
    write_article(articles / "en", "a-copy.md", WIFI[0], "Half written copy.")
    page = _client(articles, store).get("/kb/articles/wifi-onboard-en")
    assert "8 EUR a flight" in page.text and "Half written" not in page.text


def test_a_section_an_answer_links_to_is_an_anchor_on_the_page(tmp_path: Path) -> None:
    """QA s22 W6: "…/wifi-onboard-en#plans-and-prices" opened the page at its top."""
    body = (
        "Wi-Fi Chat is free.\n\n## Plans and prices\n\nWi-Fi Plus: 6 EUR.\n\n"
        "## ¿Qué pasa si falla?\n\nOk."
    )
    write_article(tmp_path / "en", "wifi.md", WIFI[0], body)
    page = _client(tmp_path).get("/kb/articles/wifi-onboard-en", headers=BROWSER).text
    assert '<h2 id="plans-and-prices">Plans and prices</h2>' in page
    assert '<h2 id="que-pasa-si-falla">¿Qué pasa si falla?</h2>' in page  # as the index slugs it
