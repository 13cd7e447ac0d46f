"""report.html from real stage outputs, checked as files and in a real browser (Debian's
chromium + chromium-driver, installed by `bash scripts/setup.sh dev`, driven by selenium).

The report comes from a tiny dataset scored by WebRTC (d1), Silero (d2) and the tiny random
model in generate mode with an open prompt (a1), so the page has paired comparisons, free-text
answers read by the normaliser, and failures with audio."""

from __future__ import annotations

import json
import os
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pandas as pd
import pytest

from qwen_vad.analyze import analyze
from qwen_vad.answers import ANSWER_RULES, UNKNOWN, AnswerReading, read_answer
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.evaluate import evaluate
from qwen_vad.prompts import load_prompt
from qwen_vad.report.__main__ import report
from qwen_vad.report.detectability import detectable_cell

DATA = ["data.name=htmlset", "data.per_cell=4", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
OPEN_PROMPT = "open_speech_or_nonspeech"
GENERATE = ["decoding.mode=generate", f"decoding.prompt={OPEN_PROMPT}", "decoding.max_new_tokens=6"]
ANALYZE = ["analyze.n_bootstrap=100", "analyze.psychometric_bootstrap=100", "analyze.comparisons=[a1:d1,a1:d2,d2:d1]"]
ANALYZE += ["analyze.experiments=[a1,d1,d2]"]
SCREENSHOT_DIR = "QWEN_VAD_SCREENSHOT_DIR"  # where a person wants the screenshots copied


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    root = tmp_path_factory.mktemp("html")
    paths = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"]
    tiny = [f"model.name_or_path={tiny_checkpoint}", "model.dtype=fp32"]
    stages = [
        ("data", build, ["exp=smoke"]),
        ("evaluate", evaluate, ["exp=d1"]),
        ("evaluate", evaluate, ["exp=d2"]),
        ("evaluate", evaluate, ["exp=a1", *tiny, *GENERATE]),
        ("analyze", analyze, ["exp=a1", *ANALYZE]),
        ("report", report, ["exp=a1"]),
    ]
    for stage, function, overrides in stages:
        cfg, exp = compose_config([*overrides, *DATA, *paths])
        execute_stage(stage, function, cfg, exp)
    (folder,) = (root / "results" / "report" / "a1").iterdir()
    return folder


class Links(HTMLParser):
    """Every src/href of a page, and the tags it uses."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def scoring_run(report_dir: Path, exp: str) -> Path:
    (run,) = (report_dir.parents[2] / "evaluate" / exp).iterdir()
    return run


def test_generate_mode_predictions_record_the_rule_of_every_answer(report_dir: Path) -> None:
    predictions = pd.read_parquet(scoring_run(report_dir, "a1") / "predictions.parquet")
    assert set(predictions["answer_rule"]) <= set(ANSWER_RULES)
    template = load_prompt(OPEN_PROMPT)
    for answer, label, rule in predictions[["answer", "answer_label", "answer_rule"]].itertuples(index=False):
        assert read_answer(answer, template) == AnswerReading(label, rule)


def test_page_renders_every_table_figure_and_failure_from_files_beside_it(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text()
    parser = Links()
    parser.feed(page)
    local = [unquote(link) for link in parser.links if not link.startswith(("#", "data:"))]
    assert not [link for link in local if "://" in link or link.startswith("//")], "nothing is fetched from a network"
    missing = [link for link in local if not (report_dir / link).exists()]
    assert not missing
    assert {"script", "audio", "select", "table", "img"} <= parser.tags
    assert "Pipeline check, not model quality" in page
    for png in (report_dir / "figures").glob("*.png"):
        assert f'src="figures/{png.name}"' in page
    failures = pd.read_csv(report_dir / "tables" / "failures.csv")
    assert len(failures) and page.count("<audio ") == len(failures)
    assert all(f'src="{quote(link)}"' in page for link in failures["spectrogram"])
    for name in ("comparison_matrix", "paired_comparisons", "detection_planning", "answer_rules", "unknown_answers", "licences"):
        assert f'id="{name}"' in page, name


def test_answer_parsing_tables_count_every_answer_and_quote_the_unknown_ones(report_dir: Path) -> None:
    predictions = pd.read_parquet(scoring_run(report_dir, "a1") / "predictions.parquet")
    reported = predictions[predictions["split"] == "test"]
    counts = pd.read_csv(report_dir / "tables" / "answer_rules.csv").set_index("system")
    assert list(counts.index) == ["a1"]  # the VADs give no free text
    assert counts.loc["a1", "answers"] == len(reported)
    for rule, n in reported["answer_rule"].value_counts().items():
        assert counts.loc["a1", rule] == n
    unknown = pd.read_csv(report_dir / "tables" / "unknown_answers.csv", keep_default_na=False)
    assert unknown["clips"].sum() == (reported["answer_label"] == UNKNOWN).sum()
    assert {json.loads(a) for a in unknown["answer"]} == set(reported.loc[reported["answer_label"] == UNKNOWN, "answer"])


def test_comparisons_show_what_the_test_set_could_detect(report_dir: Path) -> None:
    (analysis,) = (report_dir.parents[2] / "analyze" / "a1").iterdir()
    comparisons = json.loads((analysis / "comparisons.json").read_text())
    paired = pd.read_csv(report_dir / "tables" / "paired_comparisons.csv", dtype=str).set_index("comparison")
    # One run per system: each comparison is one seed pair, tested once in the Holm family.
    pairs = [pair for comparison in comparisons["comparisons"] for pair in comparison["seeds"]]
    assert sorted(pair["detectable"]["holm_rank"] for pair in pairs) == [0, 1, 2]
    for comparison in comparisons["comparisons"]:
        (pair,) = comparison["seeds"]
        assert paired.loc[f"{comparison['a']} vs {comparison['b']}", "detectable |ΔBA| (80% power)"] == detectable_cell(pair)
    planning = pd.read_csv(report_dir / "tables" / "detection_planning.csv")
    assert len(planning) == 3 and "clips/cell for 2 pts" in planning.columns


def test_provenance_names_each_licence(report_dir: Path) -> None:
    licences = pd.read_csv(report_dir / "tables" / "licences.csv").set_index("system")
    assert licences.loc["a1", "licence"].startswith("Apache-2.0 (this project's own")
    assert licences.loc["d1", "licence"].startswith("MIT (webrtcvad-wheels)")
    assert licences.loc["d2", "licence"] == "MIT"
    datasets = pd.read_csv(report_dir / "tables" / "provenance_datasets.csv")
    assert list(datasets["dataset"]) == ["htmlset"] and datasets["fingerprint"].str.fullmatch(r"[0-9a-f]{16}").all()


# --------------------------------------------------------------------------------------------
# In the browser


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("chromium and chromium-driver are needed for the report.html test: run `bash scripts/setup.sh dev`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1400",
                     "--allow-file-access-from-files", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def visible_cards(browser) -> list[dict]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#gallery .failure')].filter(c => !c.hidden && c.offsetParent !== null)"
        ".map(c => ({system: c.dataset.system, category: c.dataset.category}))"
    )


def choose(browser, key: str, value: str) -> None:
    browser.execute_script(
        "const s = document.querySelector(`#gallery-filters select[data-key='${arguments[0]}']`);"
        "s.value = arguments[1]; s.dispatchEvent(new Event('change'));",
        key, value,
    )  # fmt: skip


def test_page_in_chromium_plays_every_clip_and_filters_the_gallery(browser, report_dir: Path, tmp_path: Path) -> None:
    browser.get((report_dir / "report.html").as_uri())
    assert wait_for(lambda: browser.execute_script("return document.readyState") == "complete")
    audio = browser.execute_script("return [...document.querySelectorAll('audio')].map(a => a.getAttribute('src'))")
    assert audio and all((report_dir / unquote(src)).is_file() for src in audio)
    states = wait_for(
        lambda: (s := browser.execute_script("return [...document.querySelectorAll('audio')].map(a => [a.readyState, a.error && a.error.code])"))
        and all(ready >= 1 for ready, _ in s) and s
    )  # fmt: skip
    assert states, "every <audio> reaches HAVE_METADATA"
    assert all(error is None for _, error in states)
    assert browser.execute_script("return [...document.images].every(i => i.complete && i.naturalWidth > 0)")

    everything = visible_cards(browser)
    assert len(everything) == len(audio)
    systems = sorted({card["system"] for card in everything})
    assert len(systems) > 1
    choose(browser, "system", systems[0])
    only_one = visible_cards(browser)
    assert 0 < len(only_one) < len(everything) and {card["system"] for card in only_one} == {systems[0]}
    count = browser.find_element("id", "gallery-count").text
    assert count == f"{len(only_one)} of {len(everything)} failures shown"
    category = only_one[0]["category"]
    choose(browser, "category", category)
    assert all(card == {"system": systems[0], "category": category} for card in visible_cards(browser))
    choose(browser, "system", "")
    choose(browser, "category", "")
    assert len(visible_cards(browser)) == len(everything)

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe
    save_screenshots(browser, tmp_path)


def save_screenshots(browser, out_dir: Path) -> None:
    """The top of the page and the gallery, for a person to look at."""
    browser.execute_script("window.scrollTo(0, 0)")
    shots = {"report_top.png": browser.get_screenshot_as_png()}
    shots["report_gallery.png"] = browser.find_element("id", "failures").screenshot_as_png
    copy_to = os.environ.get(SCREENSHOT_DIR)
    for name, png in shots.items():
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        (out_dir / name).write_bytes(png)
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy2(out_dir / name, Path(copy_to) / name)
