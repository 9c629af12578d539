"""``python -m sct_engine.batch batch ...``: the batch commands without the rest of ``sct``.

Tasks live in the package's modules, so Dask pickles them by those module
paths (which workers can import), never as ``__main__`` functions.
"""

from sct_engine.batch.commands import main

if __name__ == "__main__":
    raise SystemExit(main())
