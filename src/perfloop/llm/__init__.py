"""Proposing with a language model: the proposer (proposer.py) and what it stands on.

`proposer.py` is the LLM `RoundProposer` (and `proposers_for`, which picks the proposers a
run's settings ask for); `command.py` the `RoundProposer` around a user's own command
(`--proposer-cmd`), with the same prompts; `client.py`, `openai_backend.py` and
`local_backend.py` talk to a model; `prompts.py` (templates in prompts/) builds the
requests, `parse.py` reads candidates out of answers, `journal.py` records and caches
every call, `settings.py` turns the user's settings into a client, `hints.py` gives a
model what the rules found, and `cli.py` holds the `--llm...` flags. This package uses
`perfloop.propose`; `perfloop.propose` never uses this one.
"""
