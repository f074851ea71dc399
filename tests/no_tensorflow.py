"""For tests that run code where TensorFlow and the T5 stack are absent.

`PRELUDE` makes every module of `BLOCKED` fail to import in the Python that
runs it first, as on a GPU machine with a newer Python than TF 2.12 supports:

    subprocess.run([sys.executable, "-c", PRELUDE + "import wt5.formats.export"],
                   timeout=120)
"""

BLOCKED = ("tensorflow", "tensorflow_datasets", "t5", "seqio", "mesh_tensorflow",
           "gin", "tensorflow_text")
PRELUDE = ("import sys\n"
           "for name in %r:\n"
           "  sys.modules[name] = None\n" % (BLOCKED,))
