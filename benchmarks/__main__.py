"""``python -m benchmarks [--quick | --smoke] [--json OUT.json]``: see :mod:`benchmarks.harness`."""

from benchmarks.harness import main

if __name__ == "__main__":
    main()
