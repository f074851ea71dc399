"""The owners of the on-disk formats (`wt5.formats`): exports, model and eval directories."""

import json
import os

import pytest

from wt5.formats import eval_files
from wt5.formats import export as export_format
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir, ModelDirError

VOCABULARY = {"path": "/v/spm.model", "extra_ids": 0, "size": 600,
              "pad_id": 0, "eos_id": 1}
LENGTHS = {"inputs": 64, "targets": 16}


def example(task, i):
  return {"task": task, "inputs": [5 + i, 1], "targets": [7, 1],
          "inputs_pretokenized": "in %d" % i,
          "targets_pretokenized": "out %d" % i, "target_line": "out %d" % i}


@pytest.fixture
def export_dir(tmp_path):
  """An export written by the writer `wt5 export` uses: a mixed train split
  and a per-task validation split."""
  out = str(tmp_path / "export")
  manifest = export_format.load_or_new_manifest(out, "mix", VOCABULARY,
                                                LENGTHS)
  counts = export_format.write_examples(
      iter([example("a", 0), example("b", 1), example("a", 2)]),
      os.path.join(out, "train.jsonl.gz"))
  manifest["splits"]["train"] = export_format.mixture_entry(
      "train.jsonl.gz", counts, 3)
  files, counts = {}, {}
  for task, n in (("a", 2), ("b", 0)):
    files[task] = "validation/%s.jsonl" % task
    counts[task] = export_format.write_examples(
        iter([example(task, i) for i in range(n)]),
        os.path.join(out, files[task])).get(task, 0)
  manifest["splits"]["validation"] = export_format.per_task_entry(files,
                                                                  counts)
  manifest["tasks"] = {"a": {"metrics": []}, "b": {"metrics": []}}
  export_format.write_manifest(out, manifest)
  return out


def test_an_export_as_written_is_read_back(export_dir):
  export = Export(export_dir)
  assert export.name == "mix"
  assert export.vocabulary == export_format.Vocabulary("/v/spm.model", 600,
                                                       0, 1, 0)
  assert export.sequence_length == LENGTHS
  assert export.tasks("train") == ["a", "b"]
  assert export.tasks("validation") == ["a"]  # b has no examples
  assert [e["inputs"] for e in export.examples("train")] == [[5, 1], [6, 1],
                                                             [7, 1]]
  assert export.examples("validation", "a") == [example("a", 0),
                                                example("a", 1)]
  assert export.split("train") == {
      "kind": "mixture", "seed": 3, "count": 3,
      "files": {"*": "train.jsonl.gz"}, "counts": {"a": 2, "b": 1}}
  export.check_per_task("validation")
  with pytest.raises(ExportError) as e:
    export.check_per_task("train")
  assert str(e.value) == (
      "%s: split 'train' was exported as a sampled mixture; export "
      "evaluation splits per task (`wt5 export NAME --split train`)" %
      export_dir)
  with pytest.raises(ExportError) as e:
    export.tasks("test")
  assert str(e.value) == ("%s: split 'test' was not exported; exported: "
                          "train, validation" % export_dir)
  # The manifest is read once: a rewritten one is not seen by this object.
  with open(os.path.join(export_dir, "manifest.json"), "w") as f:
    json.dump({"format": "other"}, f)
  assert export.tasks("validation") == ["a"]


def test_the_embedding_check(export_dir):
  export = Export(export_dir)
  assert export.check_embedding(600) is None
  assert export.check_embedding(640, "m") == (
      "m's embedding has 640 rows for a vocabulary of 600 ids; the extra "
      "rows are never produced by the vocabulary")
  with pytest.raises(ExportError, match=r"^Vocabulary mismatch: m has an "
                     r"embedding of 500 rows but the export's vocabulary "
                     r"/v/spm.model has 600 ids"):
    export.check_embedding(500, "m")


def save_checkpoint(model_dir, step, complete=True):
  path = os.path.join(model_dir, "checkpoint-%d" % step)
  os.makedirs(path)
  if complete:
    with open(os.path.join(path, "config.json"), "w") as f:
      f.write("{}")


def test_a_model_directory(tmp_path):
  path = str(tmp_path / "m")
  models = ModelDir(path)
  assert models.steps() == [] and models.latest is None
  with pytest.raises(ModelDirError) as e:
    models.choose_steps(None)
  assert str(e.value) == ("%s: no checkpoint-<step> directories; train with "
                          "`wt5 train --model_dir %s`" % (path, path))
  for step in (200, 100):
    save_checkpoint(path, step)
  save_checkpoint(path, 300, complete=False)  # A save cut short.
  os.makedirs(os.path.join(path, "checkpoint-x"))
  assert models.steps() == [100, 200]
  assert models.latest == os.path.join(path, "checkpoint-200")
  assert models.checkpoint(100) == os.path.join(path, "checkpoint-100")
  assert models.choose_steps(None) == [100, 200]
  assert models.choose_steps(None, newest_only=True) == [200]
  assert models.choose_steps([200, 100, 200]) == [100, 200]
  with pytest.raises(ModelDirError) as e:
    models.checkpoint(300)
  assert str(e.value) == "%s has no checkpoint-300; it has steps [100, 200]" % (
      path)
  assert models.eval_dir("validation") == os.path.join(path,
                                                       "validation_eval")


def test_the_files_of_a_step_in_an_eval_directory(tmp_path):
  eval_dir = str(tmp_path / "validation_eval")
  assert eval_files.find_step_files(eval_dir, "t_v1", "_x.jsonl") == {}
  os.makedirs(eval_dir)
  for name in ("t_v1_300_x.jsonl", "t_v1_20_x.jsonl", "t_v1_x.jsonl",
               "t_v1_2_300_x.jsonl", "t_v1_300_predictions", "u_v1_5_x.jsonl"):
    open(os.path.join(eval_dir, name), "w").close()
  assert eval_files.find_step_files(eval_dir, "t_v1", "_x.jsonl") == {
      20: os.path.join(eval_dir, "t_v1_20_x.jsonl"),
      300: os.path.join(eval_dir, "t_v1_300_x.jsonl")}
  assert eval_files.find_step_files(eval_dir, "t_v1_2", "_x.jsonl") == {
      300: os.path.join(eval_dir, "t_v1_2_300_x.jsonl")}
  assert eval_files.step_file(eval_dir, "t_v1", 20, "_x.jsonl") == (
      os.path.join(eval_dir, "t_v1_20_x.jsonl"))
  assert eval_files.task_file(eval_dir, "t_v1", 300) == os.path.join(
      eval_dir, "t_v1_300_predictions")
