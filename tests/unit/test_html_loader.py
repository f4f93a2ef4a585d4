"""The HTML loader keeps what a reader reads: main text, tables row by row, sections from h1–h3."""

from __future__ import annotations

from index.loaders import load_bytes

PAGE = """<!DOCTYPE html><html><head><title>Guide | Site</title><style>p{color:red}</style>
<script>var menu = "Accueil";</script></head><body>
<div class="navheader"><a href="prev.html">Précédent</a> <a href="next.html">Suivant</a></div>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/contact">Contact</a></li></ul></nav>
<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><a href="a.html">Autre chapitre</a></div>
<main>
<h1>Guide du jumelage<a class="headerlink" href="#g">¶</a></h1>
<div class="toc"><dl><dt><a href="#a">1. Objectifs</a></dt><dt><a href="#b">2. Budget</a></dt></dl></div>
<h2 id="a">1. Objectifs</h2>
<p>Le jumelage forme des   soignants
de <em>trois</em> hôpitaux.</p>
<ul><li>Formation continue</li><li>Équipement</li></ul>
<h2 id="b">2. Budget</h2>
<table><tr><th>Poste</th><th>Montant</th></tr><tr><td>Formation</td><td>120 000 €</td></tr>
<tr><td>Équipement</td><td>80 000 €</td></tr></table>
<h4>Détail sans section</h4>
<pre>  make install
  make test</pre>
</main>
<footer>© 2024 Le site · Mentions légales</footer></body></html>"""


def load() -> tuple[str, list[tuple[str, str]]]:
    document = load_bytes(PAGE.encode(), "guide.html")
    page = document.pages[0]
    return page.text, [(s.title, page.text[s.start : s.start + len(s.title)]) for s in page.sections]


def test_menus_tables_of_contents_scripts_and_footers_are_left_out() -> None:
    text, _ = load()
    for boilerplate in ("Précédent", "Accueil", "Contact", "Autre chapitre", "Navigation", "Mentions légales", "color", "¶"):
        assert boilerplate not in text
    assert text.count("1. Objectifs") == 1  # the heading, not the table of contents' link


def test_text_reads_as_on_the_page() -> None:
    text, _ = load()
    assert "Le jumelage forme des soignants de trois hôpitaux." in text
    assert "Formation continue\n\nÉquipement" in text
    assert "  make install\n  make test" in text  # preformatted text keeps its lines


def test_table_rows_keep_a_figure_with_its_label() -> None:
    text, _ = load()
    assert "Poste | Montant\nFormation | 120 000 €\nÉquipement | 80 000 €" in text


def test_sections_come_from_h1_to_h3_and_point_at_their_heading() -> None:
    _, sections = load()
    assert sections == [
        ("Guide du jumelage", "Guide du jumelage"),
        ("1. Objectifs", "1. Objectifs"),
        ("2. Budget", "2. Budget"),
    ]


def test_title_is_the_first_h1() -> None:
    assert load_bytes(PAGE.encode(), "guide.html").title == "Guide du jumelage"


def test_deeply_nested_pages_do_not_overflow_the_stack() -> None:
    page = "<div>" * 5000 + "<p>Au fond de la page.</p>" + "</div>" * 5000
    assert "Au fond de la page." in load_bytes(page.encode(), "profond.html").text


def test_an_articles_own_header_keeps_its_title() -> None:
    page = (
        "<body><header>Site de l'agence · Accueil</header><article><header><h1>Mission à Hanoï</h1></header>"
        "<p>Bilan de la mission.</p></article><footer>Plan du site</footer></body>"
    )
    document = load_bytes(page.encode(), "mission.html")
    assert document.title == "Mission à Hanoï"
    assert document.pages[0].text == "Mission à Hanoï\n\nBilan de la mission."
