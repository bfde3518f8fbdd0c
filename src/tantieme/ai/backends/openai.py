"""A model behind any OpenAI-compatible HTTP server (llama.cpp, vLLM, Ollama, ...).

- **Generation**: ``POST {base_url}/chat/completions`` with ``temperature=0``
  (greedy); token counts come from the server's ``usage``. By default the body
  also carries ``repeat_penalty: 1.0``, because llama-cpp-python's server
  applies a 1.1 repeat penalty even at temperature 0; pass ``extra_body={}``
  for a server that rejects unknown fields.
- **Scoring** (for attribution): ``POST {base_url}/completions`` with the chat
  prompt rendered client-side plus the answer, ``echo=true``, ``logprobs=1``,
  summing the log-probabilities of the tokens that start at or after the
  answer's first character. Servers differ here: llama.cpp's C++ server
  returns no prompt log-probabilities, and llama-cpp-python's are shifted by
  one token for models without a BOS token (its issue #1983). So before
  trusting the endpoint, :attr:`can_score` sends one probe — the words "one"
  to "twelve", whose late tokens any language model predicts almost surely —
  and accepts the server only if it scores them as predictable. If not,
  attribution falls back to retrieval scores and the answer says why.
- **Token counting** (to fit sources in the context): llama-cpp-python's
  ``/extras/tokenize`` or llama.cpp's ``/tokenize`` when present, otherwise an
  estimate of one token per 3.5 characters (``exact_tokens`` is then False).

Only the standard library is used (``urllib``).
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

from tantieme.ai.models import CHATML_TEMPLATE, Generation, Message, render_chat
from tantieme.errors import AIError

__all__ = ["OpenAICompatibleModel"]

_PROBE = "one two three four five six seven eight nine ten eleven twelve"
_DEFAULT_EXTRA = {"repeat_penalty": 1.0}


class OpenAICompatibleModel:
    """A chat model served over an OpenAI-compatible API."""

    weights_hash = None

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        context_window: int = 4096,
        chat_template: str = CHATML_TEMPLATE,
        extra_body: dict[str, Any] | None = None,
        timeout: float = 300.0,
        name: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise AIError(f"the model server URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = name or model
        self.context_window = context_window
        self.chat_template = chat_template
        self.extra_body = dict(_DEFAULT_EXTRA if extra_body is None else extra_body)
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._tokenize_route: str | None | bool = False  # False: not probed yet
        self._can_score: bool | None = None
        self.scoring_note = ""

    def __repr__(self) -> str:
        return f"OpenAICompatibleModel({self.model!r} at {self.base_url})"

    # -- HTTP -------------------------------------------------------------- #

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers=self._headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", errors="replace")
            raise AIError(f"the model server at {url} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AIError(f"cannot reach the model server at {url}: {reason}") from exc
        except json.JSONDecodeError as exc:
            raise AIError(f"the model server at {url} did not answer JSON") from exc

    def _root(self) -> str:
        parts = urlsplit(self.base_url)
        path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    # -- tokens ------------------------------------------------------------ #

    @property
    def exact_tokens(self) -> bool:
        self._find_tokenizer()
        return bool(self._tokenize_route)

    def _find_tokenizer(self) -> None:
        if self._tokenize_route is not False:
            return
        self._tokenize_route = None
        for route in ("llama-cpp-python", "llama.cpp"):
            try:
                self._tokenize_route = route
                self.tokenize("probe")
                return
            except AIError:
                self._tokenize_route = None

    def tokenize(self, text: str) -> list[int]:
        self._find_tokenizer()
        if not text:
            return []
        if self._tokenize_route == "llama-cpp-python":
            return list(self._post(f"{self._root()}/extras/tokenize", {"input": text, "model": self.model})["tokens"])
        if self._tokenize_route == "llama.cpp":
            return list(self._post(f"{self._root()}/tokenize", {"content": text})["tokens"])
        raise AIError(f"the model server at {self.base_url} exposes no tokenizer")

    def count_tokens(self, text: str) -> int:
        self._find_tokenizer()
        if self._tokenize_route:
            return len(self.tokenize(text))
        return math.ceil(len(text) / 3.5)

    def render(self, messages: Sequence[Message]) -> str:
        return render_chat(messages, self.chat_template)

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.count_tokens(self.render(messages))

    # -- generation -------------------------------------------------------- #

    def generate(
        self, messages: Sequence[Message], max_tokens: int = 256, stop: Sequence[str] = ()
    ) -> Generation:
        if max_tokens < 1:
            raise AIError("max_tokens must be at least 1")
        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": 0,
            "top_p": 1,
            "seed": 0,
            "stream": False,
            **({"stop": list(stop)} if stop else {}),
            **self.extra_body,
        }
        t0 = time.perf_counter()
        data = self._post(f"{self.base_url}/chat/completions", body)
        elapsed = time.perf_counter() - t0
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            usage = data.get("usage") or {}
        except (KeyError, IndexError, TypeError) as exc:
            raise AIError(f"unexpected reply from the model server: {str(data)[:200]}") from exc
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if prompt is None:
            prompt = self.prompt_tokens(messages)
        if completion is None:
            completion = self.count_tokens(text)
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        # The server does not say how its time splits; report it all as decode.
        return Generation(text, int(prompt), int(completion), finish, 0.0, elapsed)  # type: ignore[arg-type]

    # -- scoring ----------------------------------------------------------- #

    def _echo_logprob(self, prompt_text: str, answer_text: str) -> float:
        full = prompt_text + answer_text
        body = {
            "model": self.model,
            "prompt": full,
            "max_tokens": 1,
            "temperature": 0,
            "echo": True,
            "logprobs": 1,
            **self.extra_body,
        }
        data = self._post(f"{self.base_url}/completions", body)
        try:
            lp = data["choices"][0]["logprobs"]
            offsets, values = lp["text_offset"], lp["token_logprobs"]
        except (KeyError, IndexError, TypeError) as exc:
            raise AIError("the model server returned no log-probabilities") from exc
        if not offsets or len(offsets) != len(values):
            raise AIError("the model server returned no prompt log-probabilities")
        start, end = len(prompt_text), len(full)
        total, seen = 0.0, 0
        for offset, value in zip(offsets, values):
            if start <= offset < end:
                if value is None:
                    raise AIError("the model server left an answer token unscored")
                total += float(value)
                seen += 1
        if answer_text and seen == 0:
            raise AIError("the model server's log-probabilities do not cover the answer")
        return total

    @property
    def can_score(self) -> bool:
        """Whether the server returns trustworthy prompt log-probabilities (probed once)."""
        if self._can_score is None:
            try:
                head, tail = _PROBE.rsplit(" ", 4)[0], " " + " ".join(_PROBE.split(" ")[-4:])
                per_token = self._echo_logprob(head, tail) / 4
                self._can_score = per_token > -2.0
                if not self._can_score:
                    self.scoring_note = (
                        f"the server scores an obvious continuation at {per_token:.1f} nats per word: "
                        "its echoed log-probabilities are misaligned"
                    )
            except AIError as exc:
                self._can_score = False
                self.scoring_note = str(exc)
        return self._can_score

    def answer_logprob(self, messages: Sequence[Message], answer_text: str) -> float:
        if not self.can_score:
            raise AIError(f"{self.name} cannot score answers: {self.scoring_note}")
        return self._echo_logprob(self.render(messages), answer_text)

    def answer_logprobs(self, variants: Sequence[Sequence[Message]], answer_text: str) -> list[float]:
        return [self.answer_logprob(v, answer_text) for v in variants]
