"""Every import of the package follows the import order of the README's Layout.

The order is read from the README ("### Import order"): a module may import
the modules of its own package and of the packages on the lines above its
own, never a package on its own line or below. Imports inside functions
count as much as those at the top. A subcommand's module (`wt5.cli`'s
table) is an entry point: no module of the package imports it. It is named
after its subcommand (`wt5 NAME` -> `<package>/NAME_command.py`), and every
subpackage's docstring names each of its modules.
"""

import ast
import os
import re
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from wt5 import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "wt5")
# What wt5.formats may not import, even inside a function.
HEAVY = ("tensorflow", "tensorflow_datasets", "t5", "seqio", "mesh_tensorflow",
         "torch", "transformers")


def read_order(readme: str) -> Dict[str, int]:
  """{package: line number} of the README's import-order block.

  read_order("### Import order\\n\\n```\\nwt5  wt5.gin  the plugin\\n"
             "wt5.formats\\n```") -> {"wt5": 0, "wt5.gin": 0, "wt5.formats": 1}
  """
  match = re.search(r"^### Import order\n.*?^```\n(.*?)^```", readme,
                    re.M | re.S)
  assert match, "the README has no '### Import order' section with a block"
  order = {}
  for level, line in enumerate(match.group(1).splitlines()):
    for word in line.split():
      if re.fullmatch(r"wt5(\.\w+)?", word):
        order[word] = level
  return order


def subpackages(package_dir: str) -> Set[str]:
  """The subpackages of wt5: {"wt5.formats", "wt5.pytorch", ...}."""
  return {"wt5." + name for name in os.listdir(package_dir)
          if os.path.isfile(os.path.join(package_dir, name, "__init__.py"))}


def unit(dotted: str, packages: Set[str]) -> str:
  """The import-order entry of a module: its subpackage, or "wt5".

  unit("wt5.pytorch.train", {"wt5.pytorch"}) -> "wt5.pytorch";
  unit("wt5.answers", {"wt5.pytorch"}) -> "wt5"
  """
  parts = dotted.split(".")
  head = ".".join(parts[:2])
  return head if head in packages else "wt5"


def module_names(package_dir: str) -> Iterator[Tuple[str, str]]:
  """(dotted name, path) of every module of the package."""
  for directory, subdirs, files in os.walk(package_dir):
    subdirs.sort()
    for name in sorted(files):
      if name.endswith(".py"):
        path = os.path.join(directory, name)
        relative = os.path.relpath(path, os.path.dirname(package_dir))[:-3]
        dotted = relative.replace(os.sep, ".")
        yield dotted[:-len(".__init__")] if name == "__init__.py" else dotted, path


def imported(dotted: str, path: str) -> List[Tuple[int, str]]:
  """(line, module) of every import in the file, relative ones resolved.

  For `from wt5 import answers, pytorch` both "wt5.answers" and
  "wt5.pytorch" are listed.
  """
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  is_package = path.endswith("__init__.py")
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.extend((node.lineno, a.name) for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        parts = dotted.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([base] if base else []))
      found.extend((node.lineno, base + "." + a.name) for a in node.names)
  return found


def violations(package_dir: str, order: Dict[str, int],
               entry_points: Set[str] = frozenset()) -> List[str]:
  """Every import against the order, as "<file>:<line>: A imports B (...)".

  Importing one of `entry_points` (or a name from it) is reported too.
  """
  packages = subpackages(package_dir)
  problems = ["%s is not in the README's import order" % p
              for p in sorted(packages - set(order))]
  for dotted, path in module_names(package_dir):
    source = unit(dotted, packages)
    where = os.path.relpath(path, os.path.dirname(package_dir))
    for line, name in imported(dotted, path):
      top = name.split(".")[0]
      if source == "wt5.formats" and top in HEAVY:
        problems.append("%s:%d: wt5.formats imports %s" % (where, line, name))
      if top != "wt5":
        continue
      if name in entry_points or name.rpartition(".")[0] in entry_points:
        problems.append("%s:%d: %s imports the subcommand module %s" % (
            where, line, dotted, name))
      target = unit(name, packages)
      if target == source or target not in order or source not in order:
        continue
      if order[target] >= order[source]:
        problems.append("%s:%d: %s imports %s (%s is not above %s)" % (
            where, line, dotted, name, target, source))
  return problems


@pytest.fixture(scope="module")
def order():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    return read_order(f.read())


def test_the_order_lists_every_subpackage_once_under_the_plugin(order):
  assert order["wt5"] == 0
  assert set(order) - {"wt5"} == subpackages(PACKAGE)
  assert order["wt5.formats"] == 1


def test_every_import_goes_upward_in_the_order(order):
  entry_points = {module for module, _ in cli._SUBCOMMANDS.values()}
  assert "wt5.pytorch.evaluate_command" in entry_points
  assert violations(PACKAGE, order, entry_points) == []


def test_a_sideways_and_a_heavy_import_are_reported(order, tmp_path):
  package = tmp_path / "wt5"
  for name in ("export", "pytorch", "formats"):
    (package / name).mkdir(parents=True)
    (package / name / "__init__.py").write_text("")
  (package / "__init__.py").write_text("")
  (package / "answers.py").write_text("from wt5.formats import export\n")
  (package / "export" / "export_command.py").write_text(
      "from wt5 import answers\nfrom wt5.formats import export\n"
      "def f():\n  from ..pytorch import train\n")
  (package / "formats" / "export.py").write_text(
      "from . import model_dir\ndef f():\n  import torch\n")
  (package / "pytorch" / "train.py").write_text(
      "from . import model\nfrom ..export import export_command\n")
  assert violations(str(package), order, {"wt5.export.export_command"}) == [
      "wt5/answers.py:1: wt5.answers imports wt5.formats.export (wt5.formats "
      "is not above wt5)",
      "wt5/export/export_command.py:4: wt5.export.export_command imports "
      "wt5.pytorch.train (wt5.pytorch is not above wt5.export)",
      "wt5/formats/export.py:3: wt5.formats imports torch",
      "wt5/pytorch/train.py:2: wt5.pytorch.train imports the subcommand "
      "module wt5.export.export_command",
  ]


def test_each_subcommand_module_is_named_after_its_subcommand():
  modules = {name: module for name, (module, _) in cli._SUBCOMMANDS.items()}
  assert {n: m.rpartition(".")[2] for n, m in modules.items()} == {
      n: n + "_command" for n in modules}
  named = {dotted for dotted, _ in module_names(PACKAGE)
           if dotted.endswith("_command")}
  assert named == set(modules.values())


@pytest.mark.parametrize("package", sorted(subpackages(PACKAGE)))
def test_the_package_docstring_names_each_module(package):
  directory = os.path.join(ROOT, *package.split("."))
  with open(os.path.join(directory, "__init__.py"), encoding="utf-8") as f:
    doc = ast.get_docstring(ast.parse(f.read())) or ""
  modules = sorted(n for n in os.listdir(directory)
                   if n.endswith(".py") and n != "__init__.py")
  assert [m for m in modules if not re.search(r"\b%s\b" % re.escape(m), doc)
          ] == []
