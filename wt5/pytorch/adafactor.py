"""The Adafactor update of `wt5 train`, a few kernels per parameter shape.

`wt5 train` trains with `transformers.Adafactor` at the T5 fine-tuning
settings (what the Trainer's `optim="adafactor"` builds: a constant
learning rate, `scale_parameter=False`, `relative_step=False`, eps (1e-30,
1e-3), clipping threshold 1.0, decay rate -0.8, no first moment, no weight
decay). That optimizer loops over the parameters in Python, a dozen small
kernels each (~250 tensors in T5-base). `GroupedAdafactor` computes the same
update with the parameters of one shape stacked into one tensor: the
factored statistics are still each matrix's own row and column means (the
stack's last two dimensions), so the update is the same algorithm, not
torch's `Adafactor` (whose step size, epsilon and parameter scaling differ).

For each parameter p with gradient g at step t (beta2 = 1 - t^-0.8):
  factored (2 or more dims): R = beta2 R + (1 - beta2) mean_cols(g^2 + 1e-30)
                             C = beta2 C + (1 - beta2) mean_rows(g^2 + 1e-30)
                             u = g / sqrt(R C / mean(R))
  otherwise:                 V = beta2 V + (1 - beta2) (g^2 + 1e-30); u = g / sqrt(V)
  p -= lr u / max(1, rms(u))

Nothing here imports TensorFlow or t5.
"""

import math
from typing import Any, Dict, Iterable, List, Tuple

import torch

EPS = 1e-30
CLIP_THRESHOLD = 1.0
DECAY_RATE = -0.8


def _groups(params: Iterable[Any]) -> Dict[Tuple[Any, ...], List[Any]]:
  """Parameters with a gradient, by (shape, dtype, device)."""
  groups: Dict[Tuple[Any, ...], List[Any]] = {}
  for p in params:
    if p.grad is not None:
      groups.setdefault((tuple(p.shape), p.dtype, p.device), []).append(p)
  return groups


class GroupedAdafactor(torch.optim.Optimizer):
  """`transformers.Adafactor(lr=lr, scale_parameter=False, relative_step=False)`, stacked by shape.

  The state of each parameter is `transformers.Adafactor`'s ("step",
  "exp_avg_sq_row" and "exp_avg_sq_col", or "exp_avg_sq"), so checkpoints
  carry the same statistics.
  """

  def __init__(self, params: Iterable[Any], lr: float):
    super().__init__(params, {"lr": lr})

  def _state(self, p: Any) -> Dict[str, Any]:
    state = self.state[p]
    if not state:
      state["step"] = 0
      if p.dim() >= 2:
        state["exp_avg_sq_row"] = torch.zeros(p.shape[:-1], dtype=torch.float32,
                                              device=p.device)
        state["exp_avg_sq_col"] = torch.zeros(p.shape[:-2] + p.shape[-1:],
                                              dtype=torch.float32,
                                              device=p.device)
      else:
        state["exp_avg_sq"] = torch.zeros(p.shape, dtype=torch.float32,
                                          device=p.device)
    return state

  @torch.no_grad()
  def step(self, closure=None):
    loss = closure() if closure is not None else None
    for group in self.param_groups:
      for params in _groups(group["params"]).values():
        self._step_stack(params, group["lr"])
    return loss

  def _step_stack(self, params: List[Any], lr: float) -> None:
    states = [self._state(p) for p in params]
    step = states[0]["step"] + 1
    if any(s["step"] + 1 != step for s in states):
      # Parameters of one shape that missed steps: one at a time.
      for p in params:
        self._step_stack([p], lr)
      return
    for s in states:
      s["step"] = step
    beta2 = 1.0 - math.pow(step, DECAY_RATE)
    grad = torch.stack([p.grad for p in params]).float()
    update = grad * grad + EPS
    if params[0].dim() >= 2:
      row = torch.stack([s["exp_avg_sq_row"] for s in states])
      col = torch.stack([s["exp_avg_sq_col"] for s in states])
      row.mul_(beta2).add_(update.mean(dim=-1), alpha=1.0 - beta2)
      col.mul_(beta2).add_(update.mean(dim=-2), alpha=1.0 - beta2)
      torch._foreach_copy_([s["exp_avg_sq_row"] for s in states], list(row))
      torch._foreach_copy_([s["exp_avg_sq_col"] for s in states], list(col))
      row_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
      update = row_factor * col.unsqueeze(-2).rsqrt()
      update.mul_(grad)
    else:
      second = torch.stack([s["exp_avg_sq"] for s in states])
      second.mul_(beta2).add_(update, alpha=1.0 - beta2)
      torch._foreach_copy_([s["exp_avg_sq"] for s in states], list(second))
      update = second.rsqrt().mul_(grad)
    dims = tuple(range(1, update.dim()))
    rms = update.square().mean(dim=dims, keepdim=True).sqrt()
    update.div_((rms / CLIP_THRESHOLD).clamp_(min=1.0))
    update.mul_(lr)
    if params[0].dtype == torch.float32:
      torch._foreach_sub_(params, list(update.unbind(0)))
    else:  # as transformers: the update in float32, then rounded once
      for p, u in zip(params, update.unbind(0)):
        p.copy_(p.float() - u)
