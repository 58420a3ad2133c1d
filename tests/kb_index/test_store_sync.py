"""Index round trip, incremental sync, a killed build, model changes: real faiss, real USE."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kb_index.articles import parse_article
from kb_index.embeddings import Embedder, load_embedder
from kb_index.store import IndexStore
from kb_index.sync import IndexOptions, article_warnings, sync_directory
from relevo.errors import IndexNotBuiltError, KnowledgeBaseError
from tests.conftest import ROOT, write_article

OPTIONS = IndexOptions()
NEW_ARTICLE = (
    "id: drones-en\ntitle: Flying with a drone\nlanguage: en\ntags: [drone]",
    "Drones travel in checked baggage with their LiPo batteries removed and carried "
    "in the cabin, each battery under 100 Wh.",
)


def _top(store: IndexStore, embedder: Embedder, query: str) -> str:
    hits = store.load(embedder, nprobe=8).retriever.search(query, 3)
    return hits[0].article_id


def test_loading_before_any_build_says_what_to_do(tmp_path: Path, use_embedder: Embedder) -> None:
    with pytest.raises(IndexNotBuiltError, match="relevo kb build"):
        IndexStore(tmp_path).load(use_embedder, nprobe=8)


def test_build_round_trip_and_search(tmp_path: Path, kb_copy: Path, use_embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    report = sync_directory(kb_copy, store, use_embedder, OPTIONS)
    assert report.rebuilt and report.version == 1 and report.problems == []
    loaded = store.load(use_embedder, nprobe=8)
    assert loaded.retriever.vectors.size == report.chunks == len(loaded.retriever.chunks)
    assert loaded.manifest.model == "use-multilingual" and loaded.manifest.dimension == 512
    hit = loaded.retriever.search("my suitcase never showed up at the carousel", 3)[0]
    assert hit.article_id == "baggage-delayed-en"
    assert hit.title and hit.text and hit.language == "en" and 0 < hit.dense_score <= 1 < hit.score
    again = sync_directory(kb_copy, store, use_embedder, OPTIONS)
    assert not again.published and again.version == 1


def test_sync_embeds_only_what_changed(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder
) -> None:
    store = IndexStore(tmp_path / "index")
    sync_directory(kb_copy, store, use_embedder, OPTIONS)
    write_article(kb_copy / "en", "drones.md", *NEW_ARTICLE)
    pets = kb_copy / "en" / "pets.md"
    pets.write_text(pets.read_text() + "\nHamsters and rabbits also travel in the cabin.\n")
    (kb_copy / "es" / "lost-items.md").unlink()
    report = sync_directory(kb_copy, store, use_embedder, OPTIONS)
    assert report.added == ["drones-en"]
    assert report.changed == ["pets-en"]
    assert report.removed == ["lost-items-es"]
    manifest = store.read_manifest()
    assert manifest is not None and manifest.version == 2
    assert report.embedded_chunks == len(manifest.articles["drones-en"].chunk_ids) + len(
        manifest.articles["pets-en"].chunk_ids
    )
    assert _top(store, use_embedder, "can I bring my drone and its lipo batteries") == "drones-en"
    loaded = store.load(use_embedder, nprobe=8)
    assert "lost-items-es" not in {c.article_id for c in loaded.retriever.chunks.values()}
    assert loaded.retriever.vectors.size == len(loaded.retriever.chunks)
    assert any("Hamsters" in c.text for c in loaded.retriever.chunks.values())


def test_a_different_model_forces_a_rebuild(tmp_path: Path, use_embedder: Embedder) -> None:
    kb_copy = tmp_path / "small"
    for topic in ("wifi-onboard", "pets", "baggage-delayed", "seat-selection"):
        (kb_copy / "en").mkdir(parents=True, exist_ok=True)
        (kb_copy / "en" / f"{topic}.md").write_text(
            (ROOT / "kb/articles/en" / f"{topic}.md").read_text()
        )
    store = IndexStore(tmp_path / "index")
    sync_directory(kb_copy, store, use_embedder, OPTIONS)
    minilm = load_embedder("minilm")
    with pytest.raises(KnowledgeBaseError, match="rebuild"):
        store.load(minilm, nprobe=8)
    report = sync_directory(kb_copy, store, minilm, OPTIONS)
    assert report.rebuilt
    loaded = store.load(minilm, nprobe=8)
    assert loaded.manifest.dimension == 384
    assert (
        loaded.retriever.search("is there wifi on the plane", 3, "en")[0].article_id
        == "wifi-onboard-en"
    )


def test_large_collections_switch_to_the_approximate_index(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder
) -> None:
    store = IndexStore(tmp_path / "index")
    options = IndexOptions(approx_min_chunks=100, nprobe=64)
    report = sync_directory(kb_copy, store, use_embedder, options)
    manifest = store.read_manifest()
    assert manifest is not None and manifest.kind == "ivf" and report.chunks >= 100
    write_article(kb_copy / "en", "drones.md", *NEW_ARTICLE)
    assert not sync_directory(kb_copy, store, use_embedder, options).rebuilt
    assert _top(store, use_embedder, "drone lipo batteries") == "drones-en"


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from kb_index.embeddings import load_embedder
    from kb_index.store import IndexStore
    from kb_index.sync import IndexOptions, sync_directory
    where = sys.argv[3]
    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)
    if where == "embedding":
        progress = die
    else:
        progress = None
        real_replace = os.replace
        os.replace = lambda *a: die()
    embedder = load_embedder("use-multilingual")
    sync_directory(Path(sys.argv[1]), IndexStore(Path(sys.argv[2])), embedder,
                   IndexOptions(), full=True, progress=progress)
    """
)


@pytest.mark.parametrize("where", ["embedding", "publishing"])
def test_a_build_killed_half_way_leaves_the_previous_index_usable(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder, where: str
) -> None:
    store = IndexStore(tmp_path / "index")
    sync_directory(kb_copy, store, use_embedder, OPTIONS)
    write_article(kb_copy / "en", "drones.md", *NEW_ARTICLE)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(kb_copy), str(store.root), where], cwd=ROOT, check=False
    )
    assert killed.returncode == -9
    manifest = store.read_manifest()
    assert manifest is not None and manifest.version == 1 and "drones-en" not in manifest.articles
    assert (
        _top(store, use_embedder, "my suitcase never showed up at the carousel")
        == "baggage-delayed-en"
    )
    report = sync_directory(kb_copy, store, use_embedder, OPTIONS)
    assert report.added == ["drones-en"] and report.version == 2
    assert not list(store.root.glob(".tmp-*"))


PETS = (
    "id: pets-en\ntitle: Pets\nlanguage: en\ndepartment: special-assistance",
    "Small dogs and cats travel in the cabin in a carrier under 8 kg.",
)


def test_a_copy_of_a_published_article_never_replaces_it(
    tmp_path: Path, use_embedder: Embedder
) -> None:
    articles, store = tmp_path / "articles", IndexStore(tmp_path / "index")
    original = write_article(articles / "en", "pets.md", *PETS)
    sync_directory(articles, store, use_embedder, OPTIONS)
    copy = write_article(articles / "en", "a-new-article.md", PETS[0], "Half written.")
    report = sync_directory(articles, store, use_embedder, OPTIONS)
    assert not report.published  # pets-en is still served from pets.md
    [problem] = report.problems
    assert problem.path == copy and f"{original} serves it" in problem.reason
    assert store.read_manifest().articles["pets-en"].path == str(original)  # type: ignore[union-attr]


def test_articles_of_unknown_departments_or_too_long_are_indexed_with_a_warning(
    tmp_path: Path, use_embedder: Embedder
) -> None:
    articles, store = tmp_path / "articles", IndexStore(tmp_path / "index")
    write_article(articles / "en", "pets.md", *PETS)
    lounge = write_article(
        articles / "en", "lounge.md", "id: lounge-en\ntitle: Lounge\nlanguage: en\n"
        "department: bagage", "The lounge opens at 5:00.",
    )  # fmt: skip
    report = sync_directory(
        articles, store, use_embedder, OPTIONS, departments={"baggage", "special-assistance"}
    )
    assert report.added == ["lounge-en", "pets-en"] and report.problems == []
    [warning] = report.warnings
    assert warning.path == lounge
    assert warning.reason.startswith("department 'bagage' is not in the routing file (known: ")
    unchecked = sync_directory(articles, store, use_embedder, OPTIONS)
    assert unchecked.warnings == []


def test_an_article_over_the_size_limit_is_named(tmp_path: Path) -> None:
    huge = parse_article(write_article(tmp_path, "huge.md", PETS[0], "word " * 50_000))
    small = parse_article(write_article(tmp_path, "pets.md", *PETS))
    [warning] = article_warnings([huge, small])
    assert warning.path == huge.path and warning.reason.startswith("249 KB, over 200 KB: split")


def test_an_article_whose_folder_or_text_contradicts_its_language_is_named(
    tmp_path: Path,
) -> None:
    """An English article saved in es/ was indexed silently (QA s20, content #26)."""
    english_in_es = PETS[0].replace("language: en", "language: es")
    moved = parse_article(write_article(tmp_path / "es", "pets.md", *PETS))
    untranslated = parse_article(write_article(tmp_path / "es", "pets2.md", english_in_es, PETS[1]))
    spanish = parse_article(
        write_article(
            tmp_path / "es",
            "mascotas.md",
            english_in_es.replace("pets-en", "pets-es"),
            "Los perros y gatos pequeños viajan en cabina en un transportín de menos de 8 kg.",
        )
    )
    english = parse_article(write_article(tmp_path / "en", "pets.md", *PETS))
    reasons = {w.path: w.reason for w in article_warnings([moved, untranslated, spanish, english])}
    assert reasons == {
        moved.path: "in the es/ folder but its front matter says language: en; move the file "
        "or fix that line",
        untranslated.path: "its front matter says language: es but its text reads as English; "
        "translate it or fix that line",
    }
