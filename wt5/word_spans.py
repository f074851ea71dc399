"""Words and their character spans, as the extractive postprocessor splits text: spaCy's English rules.

Not SentencePiece (that is `wt5.vocab`).

`tokenize(text)` returns the token texts that spaCy's English tokenizer
(`spacy.blank("en")`, the same tokens as `en_core_web_sm` without a model
download) produces:

    tokenize("I don't like it, Mr. Smith's cat!")
      -> ["I", "do", "n't", "like", "it", ",", "Mr.", "Smith", "'s", "cat", "!"]

`tokenize_with_offsets(text)` returns a `TokenizedText`: the same tokens with
their character offsets, plus a compact hash code per token so that a run of
tokens can be located with one linear `str.find`. The spaCy pipeline is built
on first use, never at import.

Each distinct text is tokenized once per process and kept in a bounded LRU
cache, so evaluating many checkpoints of one task tokenizes each input once.

Memory limit. The cache holds at most `CACHE_MAX_TEXTS` texts and at most
`CACHE_MAX_CHARS` characters of text in total; the least recently used texts
are evicted first, and a single text longer than `CACHE_MAX_CHARS` is
tokenized but not kept. An entry costs about 12 bytes per token plus the text
itself plus ~300 bytes, i.e. about 4 bytes per character of English text, so
the defaults (200,000 texts, 20,000,000 characters) bound the cache to roughly
80-150 MB. Set the module attributes, or the environment variables
`WT5_TOKENIZER_CACHE_TEXTS` and `WT5_TOKENIZER_CACHE_CHARS` (read when the
cache is next written), to change the limits; 0 disables caching. When an
evaluation has more distinct texts than the cache holds, texts are simply
tokenized again: results never depend on the cache.

spaCy's own vocabulary grows with every new word it sees. To keep that bounded
as well, the spaCy tokenizer is rebuilt after it has tokenized
`SPACY_RESET_CHARS` characters (default 50,000,000; environment variable
`WT5_SPACY_RESET_CHARS`). Rebuilding takes about 0.1 s and does not change any
token.
"""

import array
import bisect
import collections
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

CACHE_MAX_TEXTS: Optional[int] = None  # None: $WT5_TOKENIZER_CACHE_TEXTS or 200,000.
CACHE_MAX_CHARS: Optional[int] = None  # None: $WT5_TOKENIZER_CACHE_CHARS or 20,000,000.
SPACY_RESET_CHARS: Optional[int] = None  # None: $WT5_SPACY_RESET_CHARS or 50,000,000.

_DEFAULT_MAX_TEXTS = 200_000
_DEFAULT_MAX_CHARS = 20_000_000
_DEFAULT_RESET_CHARS = 50_000_000
_CODE_POINTS = 0x110000
_SMALL_DOC_TOKENS = 64

_lock = threading.RLock()
_cache: "collections.OrderedDict[str, TokenizedText]" = collections.OrderedDict()
_state = {"chars": 0, "hits": 0, "misses": 0, "spacy_chars": 0}
_spacy_tokenizer: Any = None


def _setting(value: Optional[int], env_name: str, default: int) -> int:
  """Returns `value`, else the integer in `$env_name`, else `default`.

  `_setting(None, "UNSET_VARIABLE", 5)` -> 5; `_setting(3, "ANY", 5)` -> 3.
  """
  if value is not None:
    return int(value)
  raw = os.environ.get(env_name)
  if raw is None or not raw.strip():
    return default
  try:
    return int(raw)
  except ValueError:
    raise ValueError(f"${env_name} must be an integer, got {raw!r}") from None


class TokenizedText:
  """A text with its tokens given as character offsets.

  `tokenize_with_offsets("It's fine.")` has `tokens == ["It", "'s", "fine",
  "."]`, `starts == [0, 2, 5, 9]` and `ends == [2, 4, 9, 10]`.

  `codes` holds one code point per token, derived from spaCy's 64-bit hash of
  the token text (equal texts, equal code points), so the position of a token
  run in `codes` is its token position; `find` verifies every candidate
  against the token texts, so hash collisions cannot change a result.
  """

  __slots__ = ("text", "starts", "ends", "codes")

  def __init__(self, text: str, starts: array.array, ends: array.array,
               codes: str):
    self.text = text
    self.starts = starts
    self.ends = ends
    self.codes = codes

  def __len__(self) -> int:
    return len(self.starts)

  def token(self, index: int) -> str:
    """Returns the text of token `index`."""
    return self.text[self.starts[index]:self.ends[index]]

  @property
  def tokens(self) -> List[str]:
    """All token texts, in order."""
    text = self.text
    return [text[s:e] for s, e in zip(self.starts, self.ends)]

  def find(self, other: "TokenizedText") -> Optional[Tuple[int, int]]:
    """Returns the first `(start, end)` where `other`'s tokens occur as a run.

    Same result as scanning every start position of the token lists, in
    linear time: `tokenize_with_offsets("a b a c").find(
    tokenize_with_offsets("a c"))` -> (2, 4). An empty `other` occurs at the
    start: (0, 0).
    """
    width = len(other)
    if width == 0:
      return (0, 0)
    if width > len(self):
      return None
    wanted = other.tokens
    text, starts, ends = self.text, self.starts, self.ends
    position = self.codes.find(other.codes)
    while position >= 0:
      stop = position + width
      if [text[s:e] for s, e in zip(starts[position:stop], ends[position:stop])
         ] == wanted:
        return (position, stop)
      position = self.codes.find(other.codes, position + 1)
    return None

  def covering_span(self, begin: int, end: int) -> Optional[Tuple[int, int]]:
    """Returns the `(start, end)` token span of tokens overlapping [begin, end).

    `tokenize_with_offsets("I'm done").covering_span(2, 8)` -> (1, 3)
    (the characters "m done" touch the tokens "'m" and "done"). None when no
    token overlaps the characters.
    """
    first = bisect.bisect_right(self.ends, begin)
    last = bisect.bisect_left(self.starts, end)
    return (first, last) if first < last else None


def _get_spacy_tokenizer() -> Any:
  """Returns spaCy's English tokenizer, building it on first use."""
  global _spacy_tokenizer
  reset_chars = _setting(SPACY_RESET_CHARS, "WT5_SPACY_RESET_CHARS",
                         _DEFAULT_RESET_CHARS)
  if _spacy_tokenizer is None or (
      reset_chars > 0 and _state["spacy_chars"] >= reset_chars):
    import spacy
    _spacy_tokenizer = spacy.blank("en").tokenizer
    _state["spacy_chars"] = 0
  return _spacy_tokenizer


def _code_point(orth: int) -> str:
  """Maps a 64-bit token hash to a code point that is not a surrogate."""
  code = orth % (_CODE_POINTS - 0x800)
  return chr(code + 0x800 if code >= 0xD800 else code)


def _tokenize_uncached(text: str) -> TokenizedText:
  """Runs spaCy on `text` and returns its tokens with offsets and codes."""
  import numpy as np
  from spacy import attrs
  doc = _get_spacy_tokenizer()(text)
  _state["spacy_chars"] += len(text)
  if len(doc) <= _SMALL_DOC_TOKENS:  # Plain Python is faster for short texts.
    triples = [(token.idx, len(token), token.orth) for token in doc]
    return TokenizedText(
        text, array.array("q", [start for start, _, _ in triples]),
        array.array("q", [start + length for start, length, _ in triples]),
        "".join([_code_point(orth) for _, _, orth in triples]))
  table = doc.to_array([attrs.IDX, attrs.LENGTH, attrs.ORTH]).reshape(-1, 3)
  small = len(text) < 2**31
  offsets = table[:, :2].astype(np.int32 if small else np.int64)
  starts = array.array("i" if small else "q", offsets[:, 0].tobytes())
  ends = array.array("i" if small else "q",
                     (offsets[:, 0] + offsets[:, 1]).tobytes())
  # Code points 0..0x10FFFF without the surrogates D800..DFFF.
  codes = (table[:, 2] % np.uint64(_CODE_POINTS - 0x800)).astype(np.uint32)
  codes += (codes >= 0xD800).astype(np.uint32) * np.uint32(0x800)
  return TokenizedText(text, starts, ends,
                       codes.astype("<u4").tobytes().decode("utf-32-le"))


def tokenize_with_offsets(text: str) -> TokenizedText:
  """Returns the spaCy tokens of `text` with offsets, from the cache if there.

  `tokenize_with_offsets("Hi, you.").tokens` -> ["Hi", ",", "you", "."].
  """
  if not isinstance(text, str):
    raise TypeError(f"tokenize_with_offsets expects a str, got {type(text).__name__}")
  with _lock:
    entry = _cache.get(text)
    if entry is not None:
      _cache.move_to_end(text)
      _state["hits"] += 1
      return entry
    _state["misses"] += 1
    entry = _tokenize_uncached(text)
    max_texts = _setting(CACHE_MAX_TEXTS, "WT5_TOKENIZER_CACHE_TEXTS",
                         _DEFAULT_MAX_TEXTS)
    max_chars = _setting(CACHE_MAX_CHARS, "WT5_TOKENIZER_CACHE_CHARS",
                         _DEFAULT_MAX_CHARS)
    if max_texts > 0 and len(text) <= max_chars:
      _cache[text] = entry
      _state["chars"] += len(text)
      while len(_cache) > max_texts or _state["chars"] > max_chars:
        old_text, _ = _cache.popitem(last=False)
        _state["chars"] -= len(old_text)
    return entry


def tokenize(text: str) -> List[str]:
  """Returns the spaCy English token texts of `text`.

  `tokenize("I don't like it, Mr. Smith's cat!")` ->
  ["I", "do", "n't", "like", "it", ",", "Mr.", "Smith", "'s", "cat", "!"].
  """
  return tokenize_with_offsets(text).tokens


def clear_cache() -> None:
  """Empties the token cache and resets its hit and miss counts."""
  with _lock:
    _cache.clear()
    _state.update(chars=0, hits=0, misses=0)


def cache_info() -> Dict[str, int]:
  """Returns the cache's `hits`, `misses`, `texts`, `chars` and its limits.

  Right after `clear_cache()`: {"hits": 0, "misses": 0, "texts": 0,
  "chars": 0, "max_texts": 200000, "max_chars": 20000000} (default limits).
  """
  with _lock:
    return {
        "hits": _state["hits"],
        "misses": _state["misses"],
        "texts": len(_cache),
        "chars": _state["chars"],
        "max_texts": _setting(CACHE_MAX_TEXTS, "WT5_TOKENIZER_CACHE_TEXTS",
                              _DEFAULT_MAX_TEXTS),
        "max_chars": _setting(CACHE_MAX_CHARS, "WT5_TOKENIZER_CACHE_CHARS",
                              _DEFAULT_MAX_CHARS),
    }
