"""Code that runs inside the user's own processes (the workload) and perfloop's workers.

Standard library only, and nothing here imports the rest of perfloop: it must
load fast and must not disturb the program it observes.
"""
