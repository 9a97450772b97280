"""What a run leaves behind and how it survives being stopped.

    runs.py         the run store: SQLite at .perfloop/perfloop.db (runs, targets, calls,
                    candidates, verdicts, measurements, LLM calls), and run ids
    checkpoints.py  each completed step of a run, and continuing a stopped one
    lock.py         one run per project at a time

The package imports nothing itself: import the module you need.
"""
