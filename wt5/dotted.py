"""Dotted names of Python objects: importing one, naming one.

Gin files, export manifests and `wt5 score --metric` name functions by their
dotted path; this module turns such a path into the object and an object
back into a name. Pure Python: importing it imports nothing else.

    import_object("wt5.metrics.esnli_metric") -> the function
    dotted_name(wt5.metrics.esnli_metric) -> "wt5.metrics.esnli_metric"
"""

import importlib
from typing import Any, Callable, List, Optional, Sequence, Tuple


class DottedNameError(ImportError):
  """A dotted path that is malformed, or names nothing importable."""


def _import_longest_module(parts: Sequence[str], dotted: str
                           ) -> Tuple[Any, List[str]]:
  """Imports the longest importable module prefix of `parts`.

  Returns the module and the remaining attribute names:
  ["t5", "evaluation", "metrics", "accuracy"] -> (t5.evaluation.metrics,
  ["accuracy"]).
  """
  for i in range(len(parts) - 1, 0, -1):
    module_name = ".".join(parts[:i])
    try:
      return importlib.import_module(module_name), list(parts[i:])
    except ImportError as e:
      absent = (isinstance(e, ModuleNotFoundError) and e.name is not None and
                module_name.startswith(e.name))
      if i > 1 and absent:
        continue
      raise DottedNameError("cannot import %s (for %r): %s" %
                            (module_name, dotted, e)) from e
  raise DottedNameError("%r is not a dotted path" % dotted)


def import_object(dotted: str) -> Any:
  """The object at an importable dotted path.

  import_object("t5.evaluation.metrics.accuracy") is
  t5.evaluation.metrics.accuracy; "package.module:name" is accepted too.
  Raises DottedNameError (an ImportError) saying what could not be imported.
  """
  module_name, colon, attr_path = dotted.partition(":")
  parts = module_name.split(".")
  if (not all(parts) or (colon and not attr_path) or
      (not colon and len(parts) < 2)):
    raise DottedNameError("%r is not a dotted path such as "
                          "'wt5.metrics.esnli_metric'" % dotted)
  if colon:
    try:
      obj = importlib.import_module(module_name)
    except ImportError as e:
      raise DottedNameError("cannot import %s (for %r): %s" %
                            (module_name, dotted, e)) from e
    attrs = attr_path.split(".")
  else:
    obj, attrs = _import_longest_module(parts, dotted)
  for attr in attrs:
    if not hasattr(obj, attr):
      raise DottedNameError("%s has no attribute %r (for %r)" %
                            (getattr(obj, "__name__", repr(obj)), attr, dotted))
    obj = getattr(obj, attr)
  return obj


def _unwrap(fn: Any) -> Any:
  """The function under any functools.partial layers."""
  while hasattr(fn, "func"):
    fn = fn.func
  return fn


def dotted_name(fn: Optional[Callable[..., Any]]) -> Optional[str]:
  """The importable name of a function (or a partial of one), else None.

  dotted_name(wt5.postprocessors.abstractive_explanations)
    -> "wt5.postprocessors.abstractive_explanations";
  dotted_name(lambda x: x) -> None (a lambda cannot be imported by name).
  """
  if fn is None:
    return None
  fn = _unwrap(fn)
  module = getattr(fn, "__module__", None)
  name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
  if not module or not name or "<" in name:
    return None
  return "%s.%s" % (module, name)


def function_name(fn: Callable[..., Any]) -> str:
  """A readable name for messages, even where `dotted_name` has none.

  function_name(functools.partial(wt5.metrics.esnli_metric))
    -> "wt5.metrics.esnli_metric"; a lambda defined in module m -> "m.<lambda>".
  """
  fn = _unwrap(fn)
  module = getattr(fn, "__module__", None)
  name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
  if not name:
    return repr(fn)
  return "%s.%s" % (module, name) if module else name
