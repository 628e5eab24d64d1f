"""The static leaderboard site: pages, links, sortable headers, thumbnails, escaping, determinism.

Built from fake records (``test_leaderboard.run``) whose run folders hold
small PNGs; the browser test opens the pages in a real headless Chromium
when one is installed (``apt-get install chromium`` plus ``pip install
playwright``) and is skipped, saying why, when not.
"""

from __future__ import annotations

import io
import os
import random
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image
from test_leaderboard import FID, IS, run

from ganbench.leaderboard import build_leaderboards
from ganbench.leaderboard.site_assets import SORT_SCRIPT
from ganbench.leaderboard.thumbnails import MAX_SIDE
from ganbench.matrix import Cell, Matrix, ModelColumn
from ganbench.matrix.render_html import render_html
from ganbench.results import ResultsStore
from ganbench.run.record import RunRecord
from ganbench.specs import TrickSpec


class Page(HTMLParser):
    """Every element of an HTML page as (tag, attributes), plus script texts and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.elements if name == tag]


def write_png(path: Path, size: tuple[int, int], seed: int) -> None:
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    image.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(size[0] * size[1])])
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def run_folder(root: Path, name: str, seed: int) -> str:
    folder = root / "runs" / name
    write_png(folder / "samples.png", (200, 100), seed)  # larger than a thumbnail: downscaled
    write_png(folder / "curves.png", (400, 160), seed + 100)
    return str(folder)


def site_records(root: Path, model: str = "dcgan", tricks: list | None = None) -> list[RunRecord]:
    """dcgan (3 seeds, folders), gan (2 seeds, folders), wgan (folder gone), real data (none)."""
    records = [
        run(f"d{s}", model, 10.0 + s, seed=s, is_score=6.0, run_dir=run_folder(root, f"d{s}", s),
            tricks=tricks or [])
        for s in range(3)
    ]  # fmt: skip
    records += [
        run(f"g{s}", "gan", 30.0 + 2 * s, seed=s, is_score=4.0 + s, run_dir=run_folder(root, f"g{s}", 9 + s))
        for s in range(2)
    ]  # fmt: skip
    records.append(run("w0", "wgan", 20.0, is_score=9.0, run_dir=str(root / "runs" / "gone")))
    records.append(
        run("real", "real-data", kind="real-data", steps=0, batch_size=0, metrics={FID: 0.5})
    )
    return records


def build(root: Path, records: list[RunRecord], name: str = "lb") -> tuple[Path, list[Path]]:
    store = ResultsStore(root / f"{name}.sqlite")
    for record in records:
        store.add(record)
    out = root / name
    return out, build_leaderboards(store, out)


def published_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_pages_exist_and_every_link_resolves(tmp_path: Path) -> None:
    out = tmp_path / "lb"
    (out / "ablations" / "dcgan").mkdir(parents=True)
    (out / "ablations" / "dcgan" / "digits.md").write_text("# Ablation\n")
    (out / "ablations" / "dcgan" / "digits.csv").write_text("arm\n")
    (out / "tricks.md").write_text("# Tricks\n")
    out, paths = build(tmp_path, site_records(tmp_path))
    assert (out / "index.html") in paths and (out / "unconditional" / "digits.html") in paths

    checked = 0
    for page_path in sorted(out.rglob("*.html")):
        page = Page(page_path.read_text())
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
            for attrs in page.all(tag):
                if attr not in attrs:
                    continue
                url = urlsplit(attrs[attr])
                assert not url.scheme and not url.netloc, f"{page_path}: external {attrs[attr]}"
                target = (page_path.parent / unquote(url.path)).resolve()
                assert target.is_file(), f"{page_path.name}: {attrs[attr]} does not exist"
                assert out.resolve() in target.parents  # self-contained
                if url.fragment:
                    ids = {a.get("id") for _, a in Page(target.read_text()).elements}
                    assert url.fragment in ids, f"{attrs[attr]}: no such anchor"
                checked += 1
    index = Page((out / "index.html").read_text())
    hrefs = {a["href"] for a in index.all("a")}
    assert {"ablations/dcgan/digits.md", "ablations/dcgan/digits.csv", "tricks.md"} <= hrefs
    assert any(h.startswith("unconditional/digits.html#protocol-") for h in hrefs)
    assert "".join(index.text).count("unconditional") >= 1 and FID in "".join(index.text)
    assert checked >= 12


def test_table_page_has_sortable_headers_with_the_means_as_keys(tmp_path: Path) -> None:
    out, _ = build(tmp_path, site_records(tmp_path))
    page = Page((out / "unconditional" / "digits.html").read_text())
    headers = page.all("th")
    sortable = [h for h in headers if "data-type" in h]
    assert sortable[0]["aria-sort"] == "ascending"  # rank: the default order
    assert all(h["aria-sort"] == "none" for h in sortable[1:])
    assert [h["data-type"] for h in sortable[:3]] == ["num", "text", "text"]
    titles = [h["title"] for h in sortable]
    fid_column = titles.index(f"sort by {FID} ↓")
    # Each row's FID key is the mean over its seeds, computed here independently.
    keys = [[td.get("data-key") for td in row] for row in _rows(page)]
    models = [row[1] for row in keys]
    expected = {"dcgan": (10 + 11 + 12) / 3, "gan": (30 + 32) / 2, "wgan": 20.0, "real-data": 0.5}
    for model, row in zip(models, keys, strict=True):
        assert float(row[fid_column]) == pytest.approx(expected[model])
    assert [row[0] for row in keys] == [str(i) for i in range(len(keys))]
    assert [text.strip() for text in page.scripts] == [SORT_SCRIPT.strip()]


def _rows(page: Page) -> list[list[dict[str, str]]]:
    """The ``td`` attributes of each body row, data columns only (those with a data-key)."""
    rows: list[list[dict[str, str]]] = []
    for tag, attrs in page.elements:
        if tag == "tr":
            rows.append([])
        elif tag == "td" and "data-key" in attrs:
            rows[-1].append(attrs)
    return [row for row in rows if row]


def test_thumbnails_are_copied_downscaled_and_missing_folders_said(tmp_path: Path) -> None:
    records = site_records(tmp_path)
    out, paths = build(tmp_path, records)
    files = out / "unconditional" / "digits_files"
    names = sorted(p.name for p in files.iterdir())
    # The lowest completed seed of each row with a run folder.
    assert names == ["d0-curves.png", "d0-samples.png", "g0-curves.png", "g0-samples.png"]
    assert all(files / name in paths for name in names)
    for name in names:
        with Image.open(files / name) as image:
            figure = name.rsplit("-", 1)[1].removesuffix(".png")
            assert max(image.size) == MAX_SIDE[figure]  # downscaled from 200 or 400 px
            assert not image.info  # no metadata chunks (text, time, dpi, icc)
    html = (out / "unconditional" / "digits.html").read_text()
    assert html.count("run folder gone") == 2  # wgan: samples and curves
    assert html.count("no run folder recorded") == 2  # real data
    assert str(tmp_path) not in html  # no local path leaks onto the page

    shutil.rmtree(tmp_path / "runs" / "g0")
    (tmp_path / "runs" / "d0" / "curves.png").unlink()
    build(tmp_path, records, name="lb2")
    html = (tmp_path / "lb2" / "unconditional" / "digits.html").read_text()
    assert "no curves.png in the run folder" in html and "d0-samples.png" in html
    # gan's seed 0 folder is gone: its row shows seed 1's figures instead.
    assert html.count("run folder gone") == 2  # wgan's two cells only
    assert "g0-samples.png" not in html and "g1-samples.png" in html


def test_an_entry_on_two_datasets_shows_each_datasets_own_figures(tmp_path: Path) -> None:
    # gan2d at 2,000 x 100 is one entry name on ring8 and on grid25: each page its own runs.
    records = [
        run(f"{name}{s}", "gan", 10.0 + s, seed=s, dataset=name, created_at=f"2024-01-0{i + 1}",
            run_dir=run_folder(tmp_path, f"{name}{s}", s))
        for i, name in enumerate(("ring", "grid"))
        for s in range(2)
    ]  # fmt: skip
    out, _ = build(tmp_path, records)
    for name in ("ring", "grid"):
        html = (out / "unconditional" / f"{name}.html").read_text()
        assert f"{name}0-samples.png" in html and "no run<" not in html


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    records = site_records(tmp_path)
    out_a, _ = build(tmp_path, records, "a")
    out_b, _ = build(tmp_path, random.Random(3).sample(records, len(records)), "b")
    build(tmp_path, records, "a")  # again, in place
    files_a, files_b = published_files(out_a), published_files(out_b)
    assert files_a == files_b
    assert any(name.endswith(".png") for name in files_a)
    for name, data in files_a.items():
        if name.endswith(".png"):
            # No tIME or text chunks: nothing that could differ between builds.
            assert b"tIME" not in data and b"tEXt" not in data and b"iTXt" not in data


HOSTILE_MODEL = "evil\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_TRICK = "t' onmouseover='alert(3)"
HOSTILE_DATASET = "d</script><b>bold</b>"
HOSTILE_METRIC = 'fid"><i>x</i>'


def test_hostile_names_stay_text_in_every_html_context(tmp_path: Path) -> None:
    records = site_records(tmp_path, HOSTILE_MODEL, [{"name": HOSTILE_TRICK, "params": {}}])
    for record in records:
        record.dataset = HOSTILE_DATASET
        record.metrics = {HOSTILE_METRIC if k == FID else k: v for k, v in record.metrics.items()}
        record.directions = {HOSTILE_METRIC: "lower", IS: "higher"}
        record.primary_metric = HOSTILE_METRIC
    records.append(records[0].__class__(**{**records[0].to_dict(), "run_id": "d0-again"}))
    out, paths = build(tmp_path, records)
    pages = [p for p in paths if p.suffix == ".html"]
    assert len(pages) == 2
    for path in pages:
        text = path.read_text()
        page = Page(text)
        # Only our own elements: one script (the constant sort script), no injected tags.
        scripts = [text.strip() for text in page.scripts]
        assert scripts == ([SORT_SCRIPT.strip()] if path.name != "index.html" else [])
        assert not page.all("b") and not page.all("i")
        assert all(a.get("src") != "x" for a in page.all("img"))
        assert not any(k.startswith("on") for _, attrs in page.elements for k in attrs)
        joined = "".join(page.text)
        assert HOSTILE_DATASET in joined  # shown, as text
    table_page = next(p for p in pages if p.name != "index.html")
    page = Page(table_page.read_text())
    # Attribute contexts round-trip: the data-keys and alt texts hold the names as given.
    keys = {td["data-key"] for row in _rows(page) for td in row}
    assert HOSTILE_MODEL in keys and HOSTILE_TRICK in keys
    assert any(HOSTILE_MODEL in img["alt"] for img in page.all("img"))
    assert any(HOSTILE_METRIC in th.get("title", "") for th in page.all("th"))
    notes = "".join(page.text)
    assert "repeated runs of seed 0" in notes and HOSTILE_MODEL in notes  # a note names it
    index = Page((out / "index.html").read_text())
    assert any(HOSTILE_METRIC in text for text in index.text)


def test_tricks_matrix_page_is_written_linked_and_escaped(tmp_path: Path) -> None:
    hostile_trick, hostile_model = "<b>trick</b>", 'm"odel<i>'
    matrix = Matrix(
        dataset=None,
        tricks=["ema", hostile_trick],
        trick_owners={"ema": "ganbench", hostile_trick: "evil-plugin"},
        trick_specs={
            name: TrickSpec(
                name,
                build=lambda params: None,
                hook_points=("after_g_step",),
                description=f"about {name}",
            )
            for name in ("ema", hostile_trick)
        },  # fmt: skip
        columns=[ModelColumn("dcgan", "ganbench", "digits"), ModelColumn(hostile_model, "x", "d")],
        cells={
            ("ema", "dcgan"): Cell("yes"),
            ("ema", hostile_model): Cell("no", "needs <script>a BatchNorm</script>"),
            (hostile_trick, "dcgan"): Cell("no", "needs <script>a BatchNorm</script>"),
            (hostile_trick, hostile_model): Cell("yes"),
        },
    )
    store = ResultsStore(tmp_path / "s.sqlite")
    store.add(run("a", "gan", 10.0))
    out = tmp_path / "lb"
    paths = build_leaderboards(store, out, tricks_html=render_html(matrix))
    assert out / "tricks.html" in paths
    page = Page((out / "tricks.html").read_text())
    assert not page.all("b") and not page.all("i") and not page.scripts
    text = "".join(page.text)
    assert hostile_trick in text and hostile_model in text and "no [1]" in text
    assert "2 tricks apply to 2 models: 2 of 2×2 = 4 pairs" in text
    assert {a["href"] for a in page.all("a")} == {"index.html"}
    index = Page((out / "index.html").read_text())
    assert "tricks.html" in {a["href"] for a in index.all("a")}


# --- the browser test --------------------------------------------------------------------


def find_chromium() -> str | None:
    """A Chromium to drive: ``$GANBENCH_CHROMIUM``, else the system one on PATH."""
    given = os.environ.get("GANBENCH_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_pages_work_in_headless_chromium(tmp_path: Path) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set $GANBENCH_CHROMIUM)")
    out, _ = build(tmp_path, site_records(tmp_path))
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            for path in (out / "index.html", out / "unconditional" / "digits.html"):
                tab.goto(path.as_uri())
                tab.wait_for_load_state("load")
                images = tab.eval_on_selector_all(
                    "img",
                    "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])",
                )
                assert all(done and width > 0 for _, done, width in images), images
            assert len(images) == 4  # dcgan and gan: samples and curves

            def column(index: int) -> list[str]:
                return tab.eval_on_selector_all(
                    "table.leaderboard tbody tr",
                    f"rows => rows.map(r => r.cells[{index}].textContent)",
                )

            headers = tab.eval_on_selector_all("table.leaderboard th", "hs => hs.map(h => h.title)")
            fid = headers.index(f"sort by {FID} ↓")
            is_column = headers.index(f"sort by {IS} ↑")
            ranked_order = column(1)
            header = tab.locator("table.leaderboard th").nth(is_column)
            header.click()
            assert header.get_attribute("aria-sort") == "ascending"
            cells = column(is_column)
            assert cells[-1] == "n/a"  # real data has no IS: last, whichever the direction
            values = [float(text.split(" ")[0]) for text in cells[:-1]]
            assert values == sorted(values) and len(values) == 3
            header.click()
            assert header.get_attribute("aria-sort") == "descending"
            assert column(1) == ["wgan", "dcgan", "gan", "real-data"]  # IS 9, 6, 4.5; n/a last
            assert column(is_column)[-1] == "n/a"
            tab.locator("table.leaderboard th").nth(fid).click()
            fids = [float(text.split(" ")[0]) for text in column(fid)]
            assert fids == sorted(fids)
            tab.locator("table.leaderboard th").nth(0).click()  # rank: back to the published order
            assert column(1) == ranked_order
            assert tab.locator("table.leaderboard th").nth(fid).get_attribute("aria-sort") == "none"
            shot = tmp_path / "digits.png"
            tab.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 0
            with Image.open(io.BytesIO(shot.read_bytes())) as image:
                assert image.size[0] == 1400
        finally:
            browser.close()
