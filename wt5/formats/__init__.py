"""The on-disk formats every route and tool shares, each with one owner (pure Python).

Nothing here imports TensorFlow, t5 or torch:

  export.py      a `wt5 export` directory: `Export` (manifest, tasks,
                 examples, vocabulary, sequence lengths) and its writer
  model_dir.py   a model directory: `ModelDir` (checkpoint-<step>
                 directories, `<split>_eval` directories)
  eval_files.py  the files of an eval directory, read and written as
                 `t5_mesh_transformer` writes them
"""
