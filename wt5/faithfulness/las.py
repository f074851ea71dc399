"""Leakage-adjusted simulatability (Hase et al. 2020), from simulator outputs.

A simulator predicts the task model's predicted label from the input alone
(X), from input and explanation (XE) and from the explanation alone (E). An
example is leaked when the E simulator recovers the label. LAS is the mean,
over the two groups (leaked, non-leaked) that hold examples, of the
simulator's accuracy gain from the explanation:

    LAS = mean over g in {leaked, non-leaked} of acc_g(XE) - acc_g(X)

    las([1, 0, 0, 1], [1, 1, 1, 1], [1, 1, 0, 0])
      -> leaked: acc(XE) 1.0, acc(X) 0.5, gain 0.5;
         non-leaked: acc(XE) 1.0, acc(X) 0.5, gain 0.5; LAS 0.5

A group without examples is left out of the mean (all leaked: LAS is the
leaked group's gain). The interval is a percentile bootstrap over the
examples; a resample whose groups are both empty cannot occur.
"""

import math
from typing import Any, Dict, Optional, Sequence

import numpy as np

GROUPS = ("leaked", "nonleaked")


def group_gain(x: np.ndarray, xe: np.ndarray) -> Optional[Dict[str, Any]]:
  """Accuracies and gain of one group (0/1 arrays), or None when it is empty.

  group_gain(np.array([1, 0]), np.array([1, 1]))
    -> {"n": 2, "acc_x": 0.5, "acc_xe": 1.0, "gain": 0.5}
  """
  if x.size == 0:
    return None
  acc_x, acc_xe = float(x.mean()), float(xe.mean())
  return {"n": int(x.size), "acc_x": acc_x, "acc_xe": acc_xe,
          "gain": acc_xe - acc_x}


def las(x_correct: Sequence[int], xe_correct: Sequence[int],
        leaked: Sequence[int]) -> Dict[str, Any]:
  """LAS and its two groups (see the module doc).

  -> {"las": 0.5, "leaked": {"n": 2, ...}, "nonleaked": {"n": 2, ...}}
  """
  x = np.asarray(x_correct, dtype=bool)
  xe = np.asarray(xe_correct, dtype=bool)
  mask = np.asarray(leaked, dtype=bool)
  if not x.size or not x.size == xe.size == mask.size:
    raise ValueError("las needs one X, XE and leaked value per example, "
                     "got %d, %d and %d" % (x.size, xe.size, mask.size))
  groups = {"leaked": group_gain(x[mask], xe[mask]),
            "nonleaked": group_gain(x[~mask], xe[~mask])}
  gains = [g["gain"] for g in groups.values() if g is not None]
  return dict(groups, las=math.fsum(gains) / len(gains))


def las_interval(x_correct: Sequence[int], xe_correct: Sequence[int],
                 leaked: Sequence[int], num_samples: int = 1000,
                 seed: int = 0, confidence: float = 0.95) -> Dict[str, float]:
  """LAS with its percentile bootstrap interval over the examples.

  las_interval([1, 1], [1, 1], [1, 0]) -> {"mean": 0.0, "low": 0.0, "high": 0.0, "n": 2}
  """
  x = np.asarray(x_correct, dtype=np.float64)
  xe = np.asarray(xe_correct, dtype=np.float64)
  mask = np.asarray(leaked, dtype=np.float64)
  value = las(x, xe, mask)["las"]
  rng = np.random.default_rng(seed)
  values = np.empty(num_samples, dtype=np.float64)
  step = max(1, 2_000_000 // x.size)  # Memory bounded for large splits.
  for begin in range(0, num_samples, step):
    picks = rng.integers(0, x.size, size=(min(step, num_samples - begin),
                                          x.size))
    gain = xe[picks] - x[picks]
    m = mask[picks]
    leaked_n, other_n = m.sum(axis=1), (1 - m).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
      leaked_gain = (gain * m).sum(axis=1) / leaked_n
      other_gain = (gain * (1 - m)).sum(axis=1) / other_n
    both = np.stack([leaked_gain, other_gain])
    values[begin:begin + picks.shape[0]] = np.nanmean(both, axis=0)
  tail = (1.0 - confidence) / 2.0
  low, high = np.quantile(values, [tail, 1.0 - tail])
  return {"mean": value, "low": float(low), "high": float(high),
          "n": int(x.size)}
