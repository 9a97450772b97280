"""Where candidate code and the user's code run: never in perfloop's own process.

- `runner`: the main side. `run_in_worker` starts a worker subprocess with limits (time,
  memory, output), a scrubbed environment and a scratch folder, and decodes its result;
  `workload_limits` and the worker pool's size (`plan_workers`, `configure_workers`).
- `pool`: work side by side on the planned workers; `ray_executor`: `--executor ray`, the
  same workers started by Ray tasks on a cluster's nodes, their results decoded here.
- `worker`: the worker side, `python -m perfloop.sandbox.worker DIR`: enters the
  boundary, arms the tripwire, runs one function, writes its result.
- `warm`, `warm_worker`: warm workers, processes that imported perfloop's verification
  modules and the target's module once and run each verification task in a fork of
  themselves, which then does what `worker` does (timings always start fresh).
- `launch`: `python -m perfloop.sandbox.launch OPTIONS -- CMD...`, the user's workload
  started inside the same boundary when candidate code is in place.
- `boundary`: the kernel's part (network namespace, Landlock, seccomp, no signals to
  perfloop); `boundary_checks`: the escapes `perfloop doctor` and the tests try.
- `tripwire`: an audit hook that names what candidate code tried (writing files,
  starting processes, opening sockets, loading native libraries).
- `decode`: the main process reads a worker's result as data only.

The package itself imports nothing, so a worker that starts with
`-m perfloop.sandbox.worker` loads only what it needs.
"""
