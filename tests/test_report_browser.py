"""`wt5 report` pages in a real browser: Debian's headless Chromium via Playwright.

The reports are opened from file:// with every non-file, non-data request
aborted and recorded; the tests assert on the rendered DOM and save a
screenshot of each page in their temporary directory.
"""

import json
import os
import shutil
import statistics

from mesh_tensorflow.transformer import utils as mtf_utils
from playwright.sync_api import expect
from playwright.sync_api import sync_playwright
import pytest

from wt5 import cli
from wt5.formats import eval_files
from wt5 import postprocessors
from wt5.scoring import output as scoring
from wt5 import word_spans

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
MOVIE = "movie_rationales_eval_v010"
ESNLI = "esnli_v010"

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
LABEL = "</script><script>window.__pwned=3</script>"
MOVIE_INPUTS = [
    "explain sentiment review: %s the cast is great and the plot is fun" % SCRIPT,
    "explain sentiment review: a \"dull\" story %s and </script> bad acting" % IMG,
    "explain sentiment review: quotes ' \" & an ok film",
]
MOVIE_TARGETS = ["positive explanation: the cast is great explanation: plot is fun",
                 "negative explanation: bad acting",
                 "negative explanation: an ok film"]
MOVIE_PREDICTIONS = {
    100: ["negative", "negative", "negative"],
    200: ["positive explanation: the cast is great explanation: " + SCRIPT,
          "positive explanation: " + IMG,
          "negative explanation: an ok film"],
}
ESNLI_INPUTS = ["explain nli hypothesis: <b>bold</b> premise: 'single' \"double\"",
                "explain nli hypothesis: h premise: p"]
ESNLI_TARGETS = ["entailment explanation: a b c d e f g h",
                 "neutral explanation: x y z w"]
ESNLI_PREDICTIONS = {
    200: ["entailment explanation: a b c d",
          LABEL + " explanation: \"quoted\" <i>it</i></script>"],
}


def movie_values(outputs, is_target):
  return [postprocessors.extractive_explanations(
      o, is_target=is_target, example={"inputs_pretokenized": i.encode()})
          for o, i in zip(outputs, MOVIE_INPUTS)]


def write_task(eval_dir, task, inputs, targets, predictions):
  mtf_utils.write_lines_to_file([i.encode() for i in inputs],
                                os.path.join(eval_dir, task + "_inputs"))
  mtf_utils.write_lines_to_file(targets,
                                os.path.join(eval_dir, task + "_targets"))
  for step, values in predictions.items():
    mtf_utils.write_lines_to_file(
        values, os.path.join(eval_dir, "%s_%d_predictions" % (task, step)))


def write_hostile_eval_dir(eval_dir):
  write_task(eval_dir, MOVIE, MOVIE_INPUTS, movie_values(MOVIE_TARGETS, True),
             {s: movie_values(p, False) for s, p in MOVIE_PREDICTIONS.items()})
  write_task(eval_dir, ESNLI, ESNLI_INPUTS,
             [postprocessors.abstractive_explanations(t) for t in ESNLI_TARGETS],
             {s: [postprocessors.abstractive_explanations(p) for p in ps]
              for s, ps in ESNLI_PREDICTIONS.items()})


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
  with sync_playwright() as playwright:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                          args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def open_report(browser, path, width=1280, height=900):
  """Opens `path` from file://; returns the page and the requests it tried."""
  page = browser.new_page(viewport={"width": width, "height": height})
  requested = []

  def route(r):
    requested.append(r.request.url)
    if r.request.url.startswith(("file:", "data:")):
      r.continue_()
    else:
      r.abort()

  page.route("**/*", route)
  errors = []
  page.on("pageerror", lambda e: errors.append(str(e)))
  page.goto("file://" + os.path.abspath(path))
  page.wait_for_selector("body[data-ready='1']")
  assert errors == []
  return page, requested


def wt5_score(eval_dir, out_dir):
  """The scores `wt5 score --gated` writes, {task: {step: {metric: value}}}."""
  assert cli.main(["score", eval_dir, "--output_dir", out_dir, "--no_plot",
                   "--gated"]) == 0
  with open(os.path.join(out_dir, "scores.json")) as f:
    return json.load(f)


def table_cells(page, task):
  """{metric: {step: text}} of the task's summary table."""
  return page.evaluate("""task => {
    const section = [...document.querySelectorAll("section.task")]
        .find(s => s.dataset.task === task);
    const out = {};
    for (const tr of section.querySelectorAll("table.summary tbody tr")) {
      out[tr.dataset.metric] = {};
      for (const td of tr.querySelectorAll("td")) {
        out[tr.dataset.metric][td.dataset.step] = td.textContent;
      }
    }
    return out;
  }""", task)


def section(page, task):
  return page.locator("section.task[data-task='%s']" % task)


def marks(card, cls):
  return card.locator("mark.hl-%d" % cls).all_text_contents()


def shown_indices(page, task):
  return [int(i) for i in section(page, task).locator(
      "article.example").evaluate_all("els => els.map(e => e.dataset.index)")]


def assert_summary_equals_wt5_score(page, scores):
  for task, by_step in scores.items():
    cells = table_cells(page, task)
    expected = {}
    for step, values in by_step.items():
      for metric, value in values.items():
        expected.setdefault(metric, {})[step] = scoring.format_value(value)
    assert cells == expected, task


def test_hostile_report_in_chromium(browser, tmp_path):
  eval_dir = str(tmp_path / "validation_eval")
  write_hostile_eval_dir(eval_dir)
  out = str(tmp_path / "report.html")
  assert cli.main(["report", eval_dir, "--output", out]) == 0
  page, requested = open_report(browser, out)
  assert page.evaluate("typeof window.__pwned") == "undefined"
  assert all(u.startswith(("file:", "data:")) for u in requested), requested
  # Only our two scripts and the two plots exist as elements.
  assert page.evaluate("document.scripts.length") == 2
  assert page.evaluate("document.images.length") == 2
  assert page.locator("b, i, article img").count() == 0

  # Summary: the numbers of `wt5 score --gated`, gated keys included.
  scores = wt5_score(eval_dir, str(tmp_path / "scores"))
  assert_summary_equals_wt5_score(page, scores)
  cells = table_cells(page, MOVIE)
  assert cells["f1_correct_pred"] == {"100": "0", "200": "75"}
  assert cells["accuracy"] == {"100": "66.6667", "200": "66.6667"}

  # Extractive examples at the last step, with the three highlight styles.
  movie = section(page, MOVIE)
  assert movie.locator("h3").text_content() == (
      "Examples at step 200 (3, extractive)")
  cards = movie.locator("article.example")
  assert cards.count() == 3
  first, second, third = cards.nth(0), cards.nth(1), cards.nth(2)
  assert first.locator(".input").text_content() == MOVIE_INPUTS[0]
  assert marks(first, 3) == ["the cast is great"]
  assert marks(first, 1) == ["plot is fun"]
  assert marks(first, 2) == [SCRIPT]
  assert second.locator(".input").text_content() == MOVIE_INPUTS[1]
  assert marks(second, 1) == ["bad acting"]
  assert marks(second, 2) == [IMG]
  assert marks(second, 3) == []
  assert marks(third, 3) == ["an ok film"]
  # Spans: 1 of 2 annotated, 1 of 2 predicted; tokens: 4 common of 7
  # annotated and 9 predicted (spaCy cuts the script tag into 5 tokens).
  assert first.locator(".span-f1").text_content() == "span F1 50.0"
  assert first.locator(".token-f1").text_content() == "token F1 50.0"
  assert second.locator(".verdict").text_content() == "label wrong"
  assert second.locator(".predicted-label").text_content() == "positive"
  assert movie.locator(".legend").text_content().split() == [
      "Rationale", "tokens:", "annotated", "only", "predicted", "only",
      "annotated", "and", "predicted"]

  # Abstractive: hostile label and explanation shown literally.
  esnli = section(page, ESNLI)
  cards = esnli.locator("article.example")
  assert cards.nth(0).locator(".input").text_content() == ESNLI_INPUTS[0]
  assert cards.nth(0).locator(".bleu").text_content() == "sentence BLEU 36.8"
  assert cards.nth(1).locator(".predicted-label").text_content() == LABEL
  assert cards.nth(1).locator(".predicted-explanation").text_content() == (
      "\"quoted\" <i>it</i></script>")
  assert cards.nth(1).locator(".col li").all_text_contents() == ["x y z w"]

  # Filters: errors only, gold label, text search; sort worst first.
  controls = movie.locator(".controls")
  controls.locator(".errors-only").check()
  assert shown_indices(page, MOVIE) == [1]
  assert controls.locator(".count").text_content() == "1 of 3 examples"
  controls.locator(".errors-only").uncheck()
  controls.locator(".label-filter").select_option("negative")
  assert shown_indices(page, MOVIE) == [1, 2]
  controls.locator(".label-filter").select_option("")
  controls.locator(".text-filter").fill("bad ACTING")
  expect(movie.locator("article.example")).to_have_count(1)
  assert shown_indices(page, MOVIE) == [1]
  controls.locator(".text-filter").fill("")
  controls.locator(".sort").select_option("worst")
  expect(movie.locator("article.example")).to_have_count(3)
  # Example 1 has the wrong label; then span F1 66.7 (0) before 100 (2).
  assert shown_indices(page, MOVIE) == [1, 0, 2]
  assert page.evaluate("typeof window.__pwned") == "undefined"
  page.screenshot(path=str(tmp_path / "hostile_report.png"), full_page=True)


def test_two_runs_give_mean_and_sd(browser, tmp_path):
  first, second = str(tmp_path / "seed1"), str(tmp_path / "seed2")
  write_hostile_eval_dir(first)
  write_hostile_eval_dir(second)
  # The second run predicts every label right at step 200.
  mtf_utils.write_lines_to_file(
      movie_values(MOVIE_TARGETS, False),
      os.path.join(second, "%s_200_predictions" % MOVIE))
  out = str(tmp_path / "report.html")
  assert cli.main(["report", first, second, "--output", out]) == 0
  page, _ = open_report(browser, out)
  runs = page.locator("#runs li").all_text_contents()
  assert runs == [first + " (examples below)", second]
  a = wt5_score(first, str(tmp_path / "s1"))[MOVIE]["200"]
  b = wt5_score(second, str(tmp_path / "s2"))[MOVIE]["200"]
  cells = table_cells(page, MOVIE)
  for metric in a:
    mean = (a[metric] + b[metric]) / 2
    sd = statistics.stdev([a[metric], b[metric]])
    assert cells[metric]["200"] == "%s ± %s" % (
        scoring.format_value(mean), scoring.format_value(sd)), metric
  assert cells["accuracy"]["200"] == "83.3333 ± 23.5702"
  page.screenshot(path=str(tmp_path / "two_runs_report.png"), full_page=True)


def test_ten_thousand_examples_page_and_filter(browser, tmp_path):
  eval_dir = str(tmp_path / "eval")
  n = 10000
  inputs = [MOVIE_INPUTS[i % 3] for i in range(n)]
  targets = movie_values(MOVIE_TARGETS, True)
  predictions = movie_values(MOVIE_PREDICTIONS[200], False)
  write_task(eval_dir, MOVIE, inputs, [targets[i % 3] for i in range(n)],
             {200: [predictions[i % 3] for i in range(n)]})
  out = str(tmp_path / "report.html")
  assert cli.main(["report", eval_dir, "--output", out]) == 0
  page, _ = open_report(browser, out)
  movie = section(page, MOVIE)
  assert movie.locator(".count").text_content() == "10000 of 10000 examples"
  assert movie.locator("article.example").count() == 25
  assert movie.locator(".pager .page").text_content() == "page 1 of 400"
  movie.locator(".pager .next").click()
  assert shown_indices(page, MOVIE)[:2] == [25, 26]
  movie.locator(".errors-only").check()
  assert movie.locator(".count").text_content() == "3333 of 10000 examples"
  assert movie.locator(".pager .page").text_content() == "page 1 of 134"
  assert shown_indices(page, MOVIE)[:3] == [1, 4, 7]
  assert page.evaluate("typeof window.__pwned") == "undefined"


@pytest.mark.binary
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_report_of_the_demo_eval_dir(browser, demo_run, tmp_path):
  """The demo's movie-rationale evaluation: numbers and highlights."""
  _, results, _ = demo_run
  eval_dir = os.path.join(
      results["movie_rationales_1000_explanations"].model_dir,
      "validation_eval")
  out = str(tmp_path / "demo_report.html")
  assert cli.main(["report", eval_dir, "--output", out]) == 0
  page, requested = open_report(browser, out)
  assert all(u.startswith(("file:", "data:")) for u in requested)
  scores = wt5_score(eval_dir, str(tmp_path / "scores"))
  assert sorted(scores) == [MOVIE]
  assert_summary_equals_wt5_score(page, scores)
  step = max(int(s) for s in scores[MOVIE])
  movie = section(page, MOVIE)
  assert movie.locator("h3").text_content() == (
      "Examples at step %d (100, extractive)" % step)
  # Every highlighted character is a token of the annotated or predicted
  # spans, in the class the span arrays give.
  targets = eval_files.read_values(
      eval_files.task_file(eval_dir, MOVIE, "targets"))
  predictions = eval_files.read_values(
      eval_files.task_file(eval_dir, MOVIE, step))
  cards = movie.locator("article.example")
  checked_gold = 0
  for k in range(cards.count()):
    card = cards.nth(k)
    index = int(card.get_attribute("data-index"))
    pieces = card.locator(".input").evaluate(
        "box => [...box.childNodes].map(n => [n.textContent, "
        "n.nodeType === 1 ? Number(n.className.slice(-1)) : 0])")
    text = "".join(p for p, _ in pieces)
    char_class = []
    for piece, cls in pieces:
      char_class.extend([cls] * len(piece))
    tokens = word_spans.tokenize_with_offsets(text)
    gold = targets[index]["span_array"]
    predicted = predictions[index]["span_array"]
    assert len(tokens) == len(gold)
    for i in range(len(tokens)):
      want = (1 if gold[i] else 0) | (2 if i < len(predicted) and
                                      predicted[i] else 0)
      assert set(char_class[tokens.starts[i]:tokens.ends[i]]) == {want}
      checked_gold += bool(gold[i])
  assert checked_gold > 0
  page.screenshot(path=str(tmp_path / "demo_report.png"), full_page=False)
