"""A proposer command for perfloop around any OpenAI-compatible chat endpoint (llama.cpp's
server, Ollama, vLLM, a hosted API), with nothing but the standard library.

    perfloop optimize --proposer-cmd \
        "python examples/proposers/openai_chat.py --base-url http://127.0.0.1:8000/v1 --model m"

It sends perfloop's prompt (the system and user messages from $PERFLOOP_CONTEXT), writes
the model's answer into $PERFLOOP_OUT/answer.md (perfloop takes the code block from it)
and the tokens it used into $PERFLOOP_COST. The key, if the endpoint needs one, comes from
the environment variable --api-key-env names (OPENAI_API_KEY by default).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", required=True)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--extra-body", default="{}", help="JSON object of extra fields")
    parser.add_argument("--prices", help="US dollars per million prompt,completion tokens")
    args = parser.parse_args()

    context = json.loads(Path(os.environ["PERFLOOP_CONTEXT"]).read_text(encoding="utf-8"))
    body = {
        "model": args.model,
        "messages": [
            {"role": "system", "content": context["system_prompt"]},
            {"role": "user", "content": context["prompt"]},
        ],
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        **json.loads(args.extra_body),
    }
    key = os.environ.get(args.api_key_env, "no-key-needed")
    request = urllib.request.Request(
        args.base_url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=float(context["timeout"])) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        print(f"{args.base_url}: HTTP {exc.code}: {exc.read()[:500]!r}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.base_url}: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    text = answer["choices"][0]["message"]["content"] or ""
    Path(os.environ["PERFLOOP_OUT"], "answer.md").write_text(text, encoding="utf-8")
    usage = answer.get("usage") or {}
    cost = {
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
        "seconds": round(seconds, 3),
    }
    if args.prices:
        prompt_price, completion_price = (float(p) for p in args.prices.split(","))
        cost["cost"] = (
            cost["prompt_tokens"] * prompt_price + cost["completion_tokens"] * completion_price
        ) / 1e6
    Path(os.environ["PERFLOOP_COST"]).write_text(json.dumps(cost), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
