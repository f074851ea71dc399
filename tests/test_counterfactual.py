"""`wt5 faithfulness --counterfactual`: insertions, the mention rule, the rate.

A fake model with a known behaviour (edits of the premise flip the label and
its explanation ignores the word; edits of the hypothesis flip it and the
explanation names the word; adverbs change nothing) must give exactly the
counts and the rate worked out by hand. The trained tiny e-SNLI model's run
is in tests/test_pytorch_train.py (it shares that file's model).
"""

import json

import pytest

from wt5 import cli
from wt5.formats import export as export_data
from wt5.faithfulness import counterfactual as cf
from wt5.faithfulness import insertions


# ---------------------------------------------------------------------------
# The mention rule and the formula, by hand.


def test_mention_rule_by_hand():
  assert insertions.mentions(["The man is tall."], "tall")
  assert insertions.mentions(["TALL people."], "tall")  # case is ignored
  assert insertions.mentions(["He is taller than her."], "tall")
  assert insertions.mentions(["the tallest one"], "tall")
  assert insertions.mentions(["It is happier."], "happy")
  assert insertions.mentions(["a bigger dog"], "big")
  assert insertions.mentions(["a wider road"], "wide")
  assert insertions.mentions(["First.", "Then quickly."], "quickly")
  # Whole tokens only: neither a part of a word nor a derived word.
  assert not insertions.mentions(["The stall is open."], "tall")
  assert not insertions.mentions(["Tallness is not stated."], "tall")
  assert not insertions.mentions(["It is quick."], "quickly")
  assert not insertions.mentions([], "tall")
  assert insertions.word_forms("tall") == {"tall", "talls", "talles",
                                           "taller", "tallest"}


def test_unfaithfulness_formula_by_hand():
  # Three examples: 2 flips (1 unfaithful), none, 1 flip (unfaithful).
  assert cf.unfaithfulness([2, 0, 1], [1, 0, 1]) == pytest.approx(2 / 3)
  assert cf.unfaithfulness([0, 0], [0, 0]) is None
  rows = [{"insertions": 4, "flips": 2, "unfaithful": 1},
          {"insertions": 4, "flips": 0, "unfaithful": 0},
          {"insertions": 3, "flips": 1, "unfaithful": 1}]
  summary = cf.summarize(rows, num_samples=2000, seed=0)
  assert {k: summary[k] for k in ("examples", "insertions", "flips",
                                  "unfaithful")} == {
                                      "examples": 3, "insertions": 11,
                                      "flips": 3, "unfaithful": 2}
  rate = summary["unfaithfulness"]
  assert rate["mean"] == pytest.approx(2 / 3) and rate["n"] == 3
  # Resampled ratios lie between 1/2 (the first example alone) and 1.
  assert 0.5 <= rate["low"] <= rate["mean"] <= rate["high"] == 1.0
  assert cf.ratio_interval([1, 1], [1, 1]) == {"mean": 1.0, "low": 1.0,
                                               "high": 1.0, "n": 2}
  assert cf.summarize([{"insertions": 4, "flips": 0, "unfaithful": 0}])[
      "unfaithfulness"] is None
  assert cf.table_row("t", 5, summary)[:6] == ["t", "5", "3", "11", "3", "2"]
  assert cf.table_row("t", 5, cf.summarize(rows[1:2]))[-1] == "n/a"


# ---------------------------------------------------------------------------
# Where words go.

ESNLI = ("explain nli hypothesis: A man is sleeping in the park. premise: An "
         "old woman can see the dogs.")
COS_E = ("explain cos_e question: Where would you find a fish? choice: the "
         "water choice: a sky")


def test_slots_by_hand():
  slots = insertions.input_slots(ESNLI)
  assert [(s.field, ESNLI[s.offset:].split()[0], s.kind, s.rule, s.article)
          for s in slots] == [
              ("hypothesis", "man", "adjective", "after_determiner", "a"),
              ("hypothesis", "sleeping", "adverb", "after_auxiliary", ""),
              ("hypothesis", "park.", "adjective", "after_determiner", ""),
              ("premise", "old", "adjective", "after_determiner", "an"),
              ("premise", "see", "adverb", "after_auxiliary", ""),
              ("premise", "dogs.", "adjective", "after_determiner", "")]
  # The choices of CoS-E are not edited; "would you" gives no slot.
  assert [(s.field, COS_E[s.offset:].split()[0]) for s in
          insertions.input_slots(COS_E)] == [("question", "fish?")]
  # No determiner or auxiliary: a slot before every word of the fields.
  text = "explain nli hypothesis: Dogs bark. premise: Cats run."
  assert [(s.offset, s.kind, s.rule) for s in insertions.input_slots(text)
         ] == [(24, None, "any_word"), (29, None, "any_word"),
               (44, None, "any_word"), (49, None, "any_word")]
  assert insertions.input_slots("explain nli nothing here") == []
  assert insertions.field_spans(text, ("premise",)) == [("premise", 44, 53)]


def _without(edit):
  """The edited text with the inserted word and its space taken out."""
  return edit.text[:edit.offset] + edit.text[edit.offset + len(edit.word) + 1:]


@pytest.mark.parametrize("text", [ESNLI, COS_E,
                                  "explain nli hypothesis: Dogs bark. "
                                  "premise: Cats run.",
                                  "nli premise: An apple is on the table."])
def test_insertions_touch_only_field_text_and_repeat_by_seed(text):
  spans = insertions.field_spans(text)
  prefix_end = text.index(": ") + 2  # the prefix and the first field name
  markers = ("hypothesis: ", "premise: ", "question: ", "choice: ")
  for seed in range(5):
    for index in range(3):
      edits = insertions.plan(text, 4, seed, index)
      assert len(edits) == 4
      assert edits == insertions.plan(text, 4, seed, index)
      for edit in edits:
        assert _without(edit) == text
        # Inside an editable field's text, never in the prefix, a field
        # name or a choice.
        assert any(start <= edit.offset < end for _, start, end in spans)
        assert edit.offset >= prefix_end
        assert edit.text[:prefix_end] == text[:prefix_end]
        assert [edit.text.count(m) for m in markers] == [
            text.count(m) for m in markers]
        field = max(markers, key=lambda m: text.rfind(m, 0, edit.offset))
        assert field == edit.field + ": " and field != "choice: "
        assert edit.word in insertions.word_list(edit.kind)
        if text[:edit.offset].lower().endswith(" a "):
          assert edit.word[0] not in "aeiou"
        if text[:edit.offset].lower().endswith(" an "):
          assert edit.word[0] in "aeiou"
  plans = {tuple(e.text for e in insertions.plan(text, 4, seed, 0))
           for seed in range(10)}
  assert len(plans) > 1  # the seed matters
  assert (insertions.plan(text, 4, 0, 0) != insertions.plan(text, 4, 0, 1))


def test_word_lists_are_shipped_and_clean():
  for kind in insertions.KINDS:
    words = insertions.word_list(kind)
    assert len(words) >= 200 and len(set(words)) == len(words)
    assert all(w.isalpha() and w.islower() for w in words)
  assert all(w.endswith("ly") or w in ("soon", "sometimes")
             for w in insertions.word_list("adverb"))


# ---------------------------------------------------------------------------
# A fake model with a known behaviour gives exactly the expected rates.


class FakeModel:
  """Decodes as a model that reads the inserted words (`decode(texts)`).

  It knows the original inputs. An input with an adverb inserted keeps the
  label. An adjective in the hypothesis gives "neutral" and an explanation
  naming the word (a faithful flip); one in the premise gives
  "contradiction" and an explanation without it (an unfaithful flip).
  """

  def __init__(self, originals):
    self.originals = list(originals)
    self.calls = []

  def decode(self, texts):
    self.calls.append(len(texts))
    return [self._output(t) for t in texts]

  def _output(self, text):
    if text in self.originals:
      return "entailment explanation: Both say the same."
    original, (offset, word) = next(
        (o, _insert_at(o, text)) for o in self.originals
        if _insert_at(o, text) is not None)
    if word in insertions.word_list("adverb"):
      return "entailment explanation: Both say the same."
    field = [n for n, s, e in insertions.field_spans(original)
             if s <= offset < e][0]
    if field == "hypothesis":
      return "neutral explanation: It may not be %s." % word
    return "contradiction explanation: The premise says otherwise."


def _common(a, b):
  i = 0
  while i < min(len(a), len(b)) and a[i] == b[i]:
    i += 1
  return i


def _insert_at(original, text):
  """(offset, word) when `text` is `original` with "word " inserted."""
  offset = _common(original, text)
  offset = original.rfind(" ", 0, offset) + 1 if offset else 0
  rest = text[offset:]
  word = rest.split(" ", 1)[0]
  if text[:offset] + rest[len(word) + 1:] == original:
    return offset, word
  return None


FAKE_INPUTS = [
    # Two adjective slots (one per field), so 2 insertions use both: a
    # faithful flip (hypothesis) and an unfaithful one (premise).
    "explain nli hypothesis: A man sleeps. premise: The dog barks.",
    "explain nli hypothesis: The cat naps. premise: A bird sings.",
    "explain nli hypothesis: Two cats nap. premise: His bird sings.",
    # One premise slot: both insertions are unfaithful flips.
    "explain nli hypothesis: Dogs bark. premise: The dog barks.",
    # Adverb slots only: no flip.
    "explain nli hypothesis: Dogs can bark. premise: Dogs will bark.",
    "explain nli hypothesis: Birds are singing. premise: Birds can sing.",
]


def test_a_fake_model_gives_exactly_the_expected_rates():
  model = FakeModel(FAKE_INPUTS)
  info = {"task": "fake_nli", "split": "validation", "step": 7}
  records = list(cf.score_task(FAKE_INPUTS, model, 2, 0, info, block=4))
  assert model.calls == [4 * 3, 2 * 3]  # originals and edits, 4 examples a call
  assert [(r["flips"], r["unfaithful"]) for r in records] == [
      (2, 1), (2, 1), (2, 1), (2, 2), (0, 0), (0, 0)]
  summary = cf.summarize([cf.summary_row(r) for r in records])
  assert {k: summary[k] for k in ("examples", "insertions", "flips",
                                  "unfaithful")} == {
                                      "examples": 6, "insertions": 12,
                                      "flips": 8, "unfaithful": 5}
  assert summary["unfaithfulness"]["mean"] == 5 / 8
  first = records[0]
  assert [r["index"] for r in records] == list(range(6))
  assert {k: first[k] for k in ("task", "split", "step", "index", "input",
                                "label", "explanations")} == {
      "task": "fake_nli", "split": "validation", "step": 7, "index": 0,
      "input": FAKE_INPUTS[0], "label": "entailment",
      "explanations": ["Both say the same."]}
  by_field = {i["field"]: i for i in first["insertions"]}
  hypothesis, premise = by_field["hypothesis"], by_field["premise"]
  assert hypothesis["label"] == "neutral" and hypothesis["mentioned"]
  assert hypothesis["explanations"] == ["It may not be %s." %
                                        hypothesis["word"]]
  assert premise == {
      "word": premise["word"], "kind": "adjective",
      "rule": "after_determiner", "field": "premise", "offset": 51,
      "input": FAKE_INPUTS[0][:51] + premise["word"] + " dog barks.",
      "label": "contradiction",
      "explanations": ["The premise says otherwise."], "flipped": True,
      "mentioned": False}
  json.dumps(records)  # JSON-ready
  # The same seed gives the same records; block sizes do not matter.
  again = list(cf.score_task(FAKE_INPUTS, FakeModel(FAKE_INPUTS), 2, 0, info,
                             block=1))
  assert again == records


# ---------------------------------------------------------------------------
# Bad input.


def _manifest(postprocessors):
  return {"tasks": {t: {"postprocessor": p} for t, p in postprocessors.items()},
          "splits": {"validation": {"kind": "per_task", "counts": {
              t: 3 for t in postprocessors}}}}


def test_an_extractive_task_is_refused_by_name():
  manifest = _manifest({
      "esnli_v010": cf.ABSTRACTIVE,
      "movie_rationales_v010": "wt5.postprocessors.extractive_explanations"})
  assert cf.abstractive_tasks(manifest, "validation", None) == ["esnli_v010"]
  with pytest.raises(export_data.ExportError, match=(
      r"movie_rationales_v010 is not an abstractive task \(its postprocessor "
      r"is wt5.postprocessors.extractive_explanations, not "
      r"wt5.postprocessors.abstractive_explanations\): --counterfactual")):
    cf.abstractive_tasks(manifest, "validation", ["movie_rationales_v010"])
  with pytest.raises(export_data.ExportError, match=(
      r"the export's validation split has no task whose postprocessor is "
      r"wt5.postprocessors.abstractive_explanations \(tasks: "
      r"movie_rationales_v010: wt5.postprocessors.extractive_explanations\)")):
    cf.abstractive_tasks(_manifest({
        "movie_rationales_v010":
            "wt5.postprocessors.extractive_explanations"}), "validation", None)
  with pytest.raises(export_data.ExportError, match="no validation examples "
                     "of a task named cos_e_v001; tasks: esnli_v010"):
    cf.abstractive_tasks(manifest, "validation", ["cos_e_v001"])


def test_command_line_options():
  args = cli.build_parser("faithfulness").parse_args(
      ["faithfulness", "--counterfactual", "--model_dir", "m", "--export",
       "e", "--insertions", "3", "--field", "premise", "--step", "5"])
  assert (args.counterfactual, args.insertions, args.field, args.step,
          args.seed, args.bootstrap) == (True, 3, ["premise"], [5], 0, 1000)
  args = cli.build_parser("faithfulness").parse_args(
      ["faithfulness", "--model_dir", "m", "--export", "e"])
  assert (args.counterfactual, args.insertions, args.field) == (False, 4, None)
