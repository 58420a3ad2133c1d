import itertools
from pathlib import Path

import pytest

from kb_index.articles import ArticleParseError, article_files, load_articles, parse_article
from kb_index.chunking import chunk_article, slugify
from tests.conftest import DEMO_KB, write_article

GOOD = (
    "id: pets-en\ntitle: Pets\nlanguage: en\ntags: [pets, dogs]\n"
    "department: special-assistance\nupdated: 2026-10-01"
)


def test_demo_knowledge_base_is_complete_and_valid() -> None:
    articles, problems = load_articles(article_files(DEMO_KB))
    assert problems == []
    assert len(articles) >= 40
    languages = {a.language for a in articles}
    assert languages == {"es", "en"}
    for article in articles:
        assert article.path.parent.name == article.language
        assert article.id.endswith(f"-{article.language}")


def test_parse_reads_front_matter(tmp_path: Path) -> None:
    path = write_article(tmp_path, "pets.md", GOOD, "Small pets travel in the cabin.")
    article = parse_article(path)
    assert (article.id, article.language, article.department) == (
        "pets-en",
        "en",
        "special-assistance",
    )
    assert article.tags == ("pets", "dogs")
    assert article.channels == ("all",)  # cited on every channel unless it says otherwise
    private = parse_article(write_article(tmp_path, "p.md", GOOD + "\nchannels: [webchat]", "B."))
    assert private.channels == ("webchat",)
    assert article.updated is not None and article.updated.isoformat() == "2026-10-01"


def test_bad_articles_are_reported_with_reason_and_skipped(tmp_path: Path) -> None:
    write_article(tmp_path, "a_good.md", GOOD, "Small pets travel in the cabin.")
    (tmp_path / "b_nofront.md").write_text("# Just text\n\nNo front matter here.\n")
    write_article(tmp_path, "c_lang.md", "id: x-fr\ntitle: X\nlanguage: fr", "Bonjour.")
    write_article(tmp_path, "d_dup.md", GOOD, "Another body with the same id.")
    write_article(tmp_path, "e_empty.md", "id: empty-en\ntitle: Empty\nlanguage: en", "")
    write_article(tmp_path, "f_yaml.md", "id: [broken\ntitle: : :\nlanguage: en", "Body.")
    write_article(tmp_path, "g_missing.md", "title: No id\nlanguage: en", "Body.")
    write_article(
        tmp_path, "h_channel.md", "id: h-en\ntitle: H\nlanguage: en\nchannels: [web]", "B."
    )
    write_article(tmp_path, "i_topic.md", "id: dogs-en\ntitle: D\nlanguage: en\ntopic: pets", "B.")
    write_article(tmp_path, "j_topic.md", "id: pets-es\ntitle: M\nlanguage: es", "Mascotas.")
    # QA s24: an impossible date stopped the whole sync; an id with spaces made a broken link.
    write_article(
        tmp_path, "k_date.md", "id: k-en\ntitle: K\nlanguage: en\nupdated: 2026-02-30", "B."
    )
    write_article(tmp_path, "l_id.md", "id: qa b9 en\ntitle: L\nlanguage: en", "B.")
    articles, problems = load_articles(article_files(tmp_path))
    assert [a.id for a in articles] == ["pets-en", "pets-es"]  # a translation shares the topic
    reasons = {p.path.name: p.reason for p in problems}
    assert "topic 'pets' already has an article in 'en' ('pets-en' in" in reasons["i_topic.md"]
    assert "no front matter" in reasons["b_nofront.md"]
    assert "unknown language 'fr'" in reasons["c_lang.md"]
    assert "duplicate id 'pets-en'" in reasons["d_dup.md"] and "a_good.md" in reasons["d_dup.md"]
    assert reasons["e_empty.md"].startswith("empty body")
    assert reasons["f_yaml.md"].startswith("broken YAML in the front matter at line 3, column 6")
    assert "missing front matter field(s): id" in reasons["g_missing.md"]
    assert "unknown channel(s) 'web'" in reasons["h_channel.md"]
    assert reasons["k_date.md"].startswith("a date in the front matter does not exist (day is")
    assert reasons["l_id.md"].startswith("id 'qa b9 en' must be letters, digits")
    assert all(str(p).startswith(str(p.path)) for p in problems)


def test_drafts_are_not_articles(tmp_path: Path) -> None:
    write_article(tmp_path / "en", "pets.md", GOOD, "Body.")
    write_article(tmp_path / "drafts", "gap.md", GOOD.replace("pets-en", "gap-en"), "Draft.")
    assert [p.name for p in article_files(tmp_path)] == ["pets.md"]


def test_content_hash_changes_with_body_only_when_content_changes(tmp_path: Path) -> None:
    first = parse_article(write_article(tmp_path, "p.md", GOOD, "One."))
    same = parse_article(write_article(tmp_path, "q.md", GOOD, "One."))
    other = parse_article(write_article(tmp_path, "r.md", GOOD, "Two."))
    assert first.content_hash == same.content_hash != other.content_hash


def test_chunks_follow_headings_with_anchors_and_overlap(tmp_path: Path) -> None:
    long_paragraph = " ".join(f"word{i}" for i in range(100))
    claim_section = f"## Cómo reclamar\n\n{long_paragraph}\n\n{long_paragraph}"
    body = f"Intro line.\n\n{claim_section}\n\n## Plazos\n\nSeven days."
    article = parse_article(write_article(tmp_path, "c.md", GOOD, body))
    chunks = chunk_article(article, max_words=60, overlap=10)
    assert chunks[0].heading == "" and chunks[0].text == "Intro line."
    claim = [c for c in chunks if c.heading == "Cómo reclamar"]
    assert len(claim) >= 3
    assert all(c.anchor == "como-reclamar" for c in claim)
    assert all(len(c.text.split()) <= 60 for c in chunks)
    for before, after in itertools.pairwise(claim):
        assert before.text.split()[-10:] == after.text.split()[:10]
    assert chunks[-1].anchor == "plazos" and chunks[-1].text == "Seven days."
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].embedding_text.startswith("Pets. Plazos. ")


def test_slugify_folds_accents() -> None:
    assert slugify("¿Qué pasa con mi equipaje?") == "que-pasa-con-mi-equipaje"


NOTE = "<!-- internal note: Wi-Fi Plus goes up to 12 EUR in January; do not publish -->"


def test_html_comments_never_reach_the_body_or_the_chunks(tmp_path: Path) -> None:
    body = (
        f"{NOTE}\n\nWi-Fi Plus costs 8 EUR.\n\n## Streaming <!-- check -->\n\nNo <!--\nx\n-->video."
    )
    article = parse_article(write_article(tmp_path, "wifi.md", GOOD, body))
    assert "<!--" not in article.body and "internal note" not in article.body
    chunks = chunk_article(article)
    assert [c.text for c in chunks] == ["Wi-Fi Plus costs 8 EUR.", "No video."]
    assert chunks[1].heading == "Streaming"
    unclosed = write_article(tmp_path, "open.md", GOOD, "<!-- a note that never ends\n\nText.")
    with pytest.raises(ArticleParseError, match="never closed"):
        parse_article(unclosed)


@pytest.mark.parametrize(
    ("front", "body", "reason"),
    [
        (GOOD + "\nstatus: draft", "A real answer.", "remove status: draft"),
        (GOOD, "<!-- TODO(editor): draft generated by `relevo kb gaps` -->\n\nText.", "TODO"),
        (GOOD, "## Answer\n\nNo agent has answered these questions yet: write the answer here.",
         "placeholder"),
    ],
)  # fmt: skip
def test_drafts_are_refused_with_what_to_do(
    tmp_path: Path, front: str, body: str, reason: str
) -> None:
    path = write_article(tmp_path, "draft.md", front, body)
    articles, problems = load_articles([path])
    assert articles == [] and problems[0].reason.startswith("still a draft: ")
    assert reason in problems[0].reason
    assert parse_article(path, draft_ok=True).id == "pets-en"  # the drafts folder reads it


def test_a_body_of_headings_only_is_empty(tmp_path: Path) -> None:
    path = write_article(tmp_path, "h.md", GOOD, "# Pets\n\n## Cabin\n\n<!-- to do -->")
    with pytest.raises(ArticleParseError, match="headings but no text"):
        parse_article(path)


def test_the_published_file_keeps_its_id_against_a_copy(tmp_path: Path) -> None:
    original = write_article(tmp_path, "pets.md", GOOD, "Small pets travel in the cabin.")
    copy = write_article(tmp_path, "a-new-article.md", GOOD, "Half written.")
    articles, problems = load_articles(article_files(tmp_path), served=[original])
    assert [a.path for a in articles] == [original]
    [problem] = problems
    assert problem.path == copy
    assert f"{original} serves it and this file is skipped" in problem.reason


def test_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_text(f"---\n{GOOD}\n---\n\nBody.\n", encoding="utf-8-sig")
    assert parse_article(path).id == "pets-en"


def test_broken_yaml_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "q.md"
    path.write_text('\n---\nid: x-en\ntitle: "unclosed\nlanguage: en\n---\n\nBody.\n')
    with pytest.raises(ArticleParseError) as caught:
        parse_article(path)
    assert str(caught.value) == (
        "broken YAML in the front matter at line 6, column 1: found unexpected end of stream "
        "(while scanning a quoted scalar on line 4)"
    )


def test_editors_leftovers_are_not_articles_and_unreadable_files_are_reported(
    tmp_path: Path,
) -> None:
    good = write_article(tmp_path / "en", "pets.md", GOOD, "Body.")
    (tmp_path / "en" / ".#pets.md").symlink_to("editor@host.1234:1732770000")  # Emacs lock
    for name in ("pets.md~", ".pets.md.swp", ".hidden.md", "#pets.md#"):
        (tmp_path / "en" / name).write_text(good.read_text())
    write_article(tmp_path / ".git", "x.md", GOOD, "Body.")
    assert article_files(tmp_path) == [good]
    gone = tmp_path / "en" / "renamed-meanwhile.md"  # listed, then moved before it was read
    articles, problems = load_articles([good, gone])
    assert [a.id for a in articles] == ["pets-en"]
    assert [(p.path, p.reason) for p in problems] == [
        (gone, "cannot be read (No such file or directory)")
    ]
