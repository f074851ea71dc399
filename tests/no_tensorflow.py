"""For tests that run code where TensorFlow and the T5 stack are absent.

`PRELUDE` makes every module of `BLOCKED` fail to import in the Python that
runs it first, as on a GPU machine with a newer Python than TF 2.12 supports;
`CHECK` exits with an AssertionError naming the modules of those packages
that were loaded all the same (before `PRELUDE`, say):

    subprocess.run([sys.executable, "-c",
                    PRELUDE + "import wt5.formats.export\n" + CHECK],
                   timeout=120)
"""

BLOCKED = ("tensorflow", "tensorflow_datasets", "t5", "seqio", "mesh_tensorflow",
           "gin", "tensorflow_text")
PRELUDE = ("import sys\n"
           "for name in %r:\n"
           "  sys.modules[name] = None\n" % (BLOCKED,))
CHECK = ("loaded = sorted(m for m, module in sys.modules.items()\n"
         "                if module is not None and m.split('.')[0] in %r)\n"
         "assert not loaded, 'loaded: %%s' %% ', '.join(loaded)\n" % (BLOCKED,))
