"""Removing or keeping passage tokens of a WT5 input, and re-tokenizing it.

The tokens are the ones the extractive postprocessor used: spaCy's
(`wt5.word_spans`) over the input text with newlines read as spaces, so a
`span_array` from an eval file marks them one to one. Only the passage's
tokens are ever removed; the task prefix stays, and so do MultiRC's question
and answer:

    "explain sentiment review: dull plot, great cast"
      prefix "explain sentiment review: ", passage "dull plot, great cast"
    "explain multirc passage: Ann sings. Bob reads. query: Who reads? answer: Bob"
      prefix "explain multirc passage: ", passage "Ann sings. Bob reads.",
      kept after it " query: Who reads? answer: Bob"

The passage starts after the first ": " of the input (every extractive task's
prefix ends there: "... review: ", "explain sentiment: ", "... passage: ").
When the prefix ends in "passage: ", the passage ends where the last
" query: " starts; otherwise at the end of the input.

An edited input joins the kept passage tokens: two tokens that were next to
each other keep the text between them, two with removed tokens between them
are joined by one space; the prefix and the rest are the original text. The
edited text is encoded with the export's SentencePiece model and cut as
seqio cuts every input (`append_eos_after_trim`): at most `length - 1` ids,
then EOS. Tokens past the sequence limit were never seen by the model, so
removing them changes nothing; the percentages of AOPC still count them
(they are percentages of the passage).

`variants` gives every edited input one rationale needs: without it, with it
alone, and without or with only its top k% of tokens for each AOPC
threshold.
"""

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from wt5 import word_spans
from wt5.faithfulness import scores

PREFIX_END = ": "
MULTIRC_FIELD = "passage: "
QUESTION_FIELD = " query: "


class PassageError(ValueError):
  """An input whose passage cannot be found, or spans that do not fit it."""


@dataclasses.dataclass(frozen=True)
class Passage:
  """An input text, its spaCy tokens and which of them form the passage.

  `starts` and `ends` are the character offsets of every token of the input;
  the passage is the tokens `first` to `stop - 1`.
  """
  text: str
  starts: Tuple[int, ...]
  ends: Tuple[int, ...]
  first: int
  stop: int

  @property
  def num_tokens(self) -> int:
    """How many tokens the whole input has (the length of a `span_array`)."""
    return len(self.starts)

  @property
  def size(self) -> int:
    """How many passage tokens there are."""
    return self.stop - self.first

  def membership(self, span_array: Sequence[int], what: str) -> List[int]:
    """The 0/1 rationale marks of the passage tokens, from a whole-input array.

    Marks on prefix or question tokens are dropped (those tokens always stay).
    """
    if len(span_array) != self.num_tokens:
      raise PassageError(
          "%s has %d token marks but the input has %d spaCy tokens (the eval "
          "file does not belong to this export): %r" % (
              what, len(span_array), self.num_tokens, self.text[:80]))
    return [1 if span_array[i] else 0 for i in range(self.first, self.stop)]


def passage_bounds(text: str) -> Tuple[int, int]:
  """The character range of the passage in an input text (see the module doc).

  passage_bounds("explain sentiment review: dull plot") -> (26, 35)
  passage_bounds("explain multirc passage: A. query: Q? answer: B") -> (25, 27)
  """
  colon = text.find(PREFIX_END)
  if colon < 0:
    raise PassageError("the input has no %r ending a task prefix, so its "
                       "passage cannot be found: %r" % (PREFIX_END, text[:80]))
  begin = colon + len(PREFIX_END)
  end = len(text)
  if text[:begin].endswith(MULTIRC_FIELD):
    question = text.rfind(QUESTION_FIELD, begin)
    if question >= 0:
      end = question
  return begin, end


def split_input(text: str) -> Passage:
  """Tokenizes `text` as the extractive postprocessor does and finds the passage.

  split_input("explain sentiment review: dull plot") -> Passage(first=4,
  stop=6, ...): "explain", "sentiment", "review", ":" are tokens 0 to 3.
  """
  begin, end = passage_bounds(text)
  tokens = word_spans.tokenize_with_offsets(text.replace("\n", " "))
  starts, ends = tuple(tokens.starts), tuple(tokens.ends)
  first = next((i for i, s in enumerate(starts) if s >= begin), len(starts))
  stop = first
  while stop < len(starts) and ends[stop] <= end:
    stop += 1
  return Passage(text, starts, ends, first, stop)


def edited_text(passage: Passage, keep: Sequence[bool]) -> str:
  """The input with only the passage tokens marked in `keep` left.

  For "explain sentiment review: dull plot, great cast" (passage tokens
  "dull", "plot", ",", "great", "cast"):
  keep [0, 0, 0, 1, 1] -> "explain sentiment review: great cast";
  keep [1, 0, 1, 1, 0] -> "explain sentiment review: dull , great";
  keep [0, 0, 0, 0, 0] -> "explain sentiment review: ".
  """
  if len(keep) != passage.size:
    raise PassageError("keep has %d marks for %d passage tokens" % (
        len(keep), passage.size))
  text, starts, ends = passage.text, passage.starts, passage.ends
  if passage.size == 0:
    return text
  head = text[:starts[passage.first]]
  tail = text[ends[passage.stop - 1]:]
  pieces: List[str] = []
  previous: Optional[int] = None
  for offset, kept in enumerate(keep):
    if not kept:
      continue
    i = passage.first + offset
    if previous is not None:
      pieces.append(text[ends[previous]:starts[i]] if previous == i - 1
                    else " ")
    pieces.append(text[starts[i]:ends[i]])
    previous = i
  return head + "".join(pieces) + tail


def encode(processor: Any, text: str, length: int, eos_id: int) -> List[int]:
  """SentencePiece ids of `text`, cut to `length - 1`, then EOS (as seqio).

  encode(sp, "explain sentiment review: fun", 4, 1) -> [402, 319, 400, 1]
  """
  if length < 1:
    raise ValueError("the sequence length must be at least 1, got %d" % length)
  ids = list(processor.EncodeAsIds(text))
  return ids[:length - 1] + [eos_id]


def runs(membership: Sequence[int]) -> List[Tuple[int, int]]:
  """The maximal runs of marked positions as (start, end), end exclusive.

  runs([0, 1, 1, 0, 1]) -> [(1, 3), (4, 5)]
  """
  result: List[Tuple[int, int]] = []
  start = None
  for i, mark in enumerate(list(membership) + [0]):
    if mark and start is None:
      start = i
    elif not mark and start is not None:
      result.append((start, i))
      start = None
  return result


def variants(passage: Passage, membership: Sequence[int], seed: int,
             index: int, stream: int,
             thresholds: Sequence[float] = scores.THRESHOLDS
             ) -> Dict[Tuple[Any, ...], str]:
  """The edited input texts one rationale needs.

  Keys: ("comprehensiveness",) and ("sufficiency",) (the rationale removed,
  kept alone), and ("comprehensiveness", k), ("sufficiency", k) for each
  threshold k (the top k% of the passage tokens removed, kept alone; tokens
  ranked by `scores.rank_tokens`, ties broken with the seed, the example
  index and `stream`).
  """
  keep_all = [not m for m in membership]
  result = {("comprehensiveness",): edited_text(passage, keep_all),
            ("sufficiency",): edited_text(passage,
                                          list(map(bool, membership)))}
  order = scores.rank_tokens(membership,
                             np.random.default_rng([seed, index, stream]))
  for threshold in thresholds:
    top = set(order[:scores.top_count(passage.size, threshold)])
    in_top = [i in top for i in range(passage.size)]
    result["comprehensiveness", threshold] = edited_text(
        passage, [not t for t in in_top])
    result["sufficiency", threshold] = edited_text(passage, in_top)
  return result
