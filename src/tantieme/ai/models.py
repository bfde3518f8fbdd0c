"""Model backends: one protocol, several implementations (plugins of one kind).

A backend answers chat messages and, for attribution, scores how likely a given
answer is after a given prompt. Two are built in:

- ``local``  — the embedded SmolLM2-135M-Instruct GGUF through llama.cpp
  (:mod:`tantieme.ai.backends.llamacpp`);
- ``openai`` — any OpenAI-compatible HTTP server: llama.cpp server, vLLM,
  Ollama (:mod:`tantieme.ai.backends.openai`).

Others register with :func:`register_backend` and are built by
:func:`load_model`.

Every backend is deterministic by default (greedy decoding), so the same
question over the same sources gives the same answer and the same fee.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Protocol, Sequence, TypedDict, runtime_checkable

from tantieme.assets.store import sha256_file
from tantieme.config import cache_root
from tantieme.errors import AIError
from tantieme.files import write_json

__all__ = [
    "CHATML_TEMPLATE",
    "GEMMA_TEMPLATE",
    "Generation",
    "Message",
    "Model",
    "backends",
    "file_sha256",
    "load_model",
    "register_backend",
    "render_chat",
    "weights_sha256",
]


class Message(TypedDict):
    """One chat message, as OpenAI-style APIs take it."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Generation:
    """What a backend generated, with token counts from the model's own tokenizer.

    ``text`` is the completion exactly as decoded (not stripped): attribution
    scores this text, so it must be the same bytes the model produced.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]
    #: seconds spent reading the prompt (prefill) and producing the answer (decode)
    prefill_s: float = 0.0
    decode_s: float = 0.0
    #: token ids of the completion, when the backend exposes them
    token_ids: tuple[int, ...] = field(default=(), repr=False)

    @property
    def total_s(self) -> float:
        return self.prefill_s + self.decode_s

    @property
    def decode_tokens_per_s(self) -> float:
        return self.completion_tokens / self.decode_s if self.decode_s > 0 else 0.0


@runtime_checkable
class Model(Protocol):
    """What the pipeline needs from a language model.

    ``weights_hash`` is the sha256 of the weights file (``"sha256:<hex>"``) when
    the backend can see it — it becomes the model's on-chain content hash — and
    ``None`` for remote servers whose weights this node cannot read.
    """

    name: str
    weights_hash: str | None
    #: tokens the model can attend to: prompt + completion
    context_window: int
    #: whether :meth:`answer_logprob` works (a remote server may not score)
    can_score: bool

    def tokenize(self, text: str) -> list[int]: ...

    def count_tokens(self, text: str) -> int: ...

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the chat prompt takes, template and generation header included."""
        ...

    def generate(
        self, messages: Sequence[Message], max_tokens: int = 256, stop: Sequence[str] = ()
    ) -> Generation:
        """Greedy completion; ``stop`` strings end it early and are not returned."""
        ...

    def answer_logprob(self, messages: Sequence[Message], answer_text: str) -> float:
        """Sum of log-probabilities (natural log) of the answer's tokens after the prompt."""
        ...

    def answer_logprobs(
        self, variants: Sequence[Sequence[Message]], answer_text: str
    ) -> list[float]:
        """:meth:`answer_logprob` for several prompts at once (backends may batch or share work)."""
        ...


# --------------------------------------------------------------------------- #
# Chat templates                                                               #
# --------------------------------------------------------------------------- #

#: ChatML, the format of SmolLM2, Qwen and many others; used when a backend
#: cannot read the model's own template.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


#: Gemma's turn format, for Gemma GGUF files that carry no template (system text opens the first user turn).
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '<start_of_turn>user\\n' + message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}"
    "{% if loop.index0 == 0 or messages[loop.index0 - 1]['role'] != 'system' %}{{ '<start_of_turn>user\\n' }}{% endif %}"
    "{{ message['content'] + '<end_of_turn>\\n' }}"
    "{% else %}{{ '<start_of_turn>model\\n' + message['content'] + '<end_of_turn>\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)


def render_chat(
    messages: Sequence[Message],
    template: str = CHATML_TEMPLATE,
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render chat messages to the prompt text the model was trained on.

    Uses a sandboxed Jinja environment, as Hugging Face and llama.cpp do for the
    ``tokenizer.chat_template`` stored in a model's metadata.
    """
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise AIError(f"chat template refused the messages: {message}")

    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(template).render(
            messages=list(messages),
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
        )
    except AIError:
        raise
    except Exception as exc:  # jinja2 syntax or runtime errors in a model's template
        raise AIError(f"cannot render the model's chat template: {exc}") from exc


def file_sha256(path: str | Path) -> str:
    """``"sha256:<hex>"`` of a file (the content hash the registry records for the weights)."""
    return "sha256:" + sha256_file(Path(path)).hex()


def weights_sha256(path: str | Path) -> str:
    """:func:`file_sha256` of a model's weights, kept in the machine's cache for the file as it
    stands (its inode, size and modification time): a process that loads the model reads the
    weights once, not a second time to hash them. `tantieme doctor` hashes them afresh."""
    stat = Path(path).stat()
    key = f"{Path(path).resolve()}\0{stat.st_dev}\0{stat.st_ino}\0{stat.st_size}\0{stat.st_mtime_ns}"
    kept = cache_root() / "weights" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return str(json.loads(kept.read_text())["sha256"])
    digest = file_sha256(path)
    with contextlib.suppress(OSError):  # a cache that cannot be written is simply not kept
        write_json(kept, {"path": str(path), "sha256": digest}, durable=False)
    return digest


# --------------------------------------------------------------------------- #
# Backend registry                                                             #
# --------------------------------------------------------------------------- #

BackendFactory = Callable[..., Model]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``load_model(name, ...)`` build models with ``factory(**options)``."""
    _BACKENDS[name] = factory


def backends() -> dict[str, BackendFactory]:
    """The registered backends, built-ins first."""
    _register_builtins()
    return dict(_BACKENDS)


def _register_builtins() -> None:
    if "local" in _BACKENDS:
        return
    # Imported lazily: the local backend loads llama.cpp, the HTTP one nothing heavy.
    from tantieme.ai.backends import llamacpp, openai

    _BACKENDS.setdefault("local", llamacpp.load)
    _BACKENDS.setdefault("openai", openai.OpenAICompatibleModel)


def load_model(backend: str = "local", **options: object) -> Model:
    """Build a model from a registered backend.

    >>> load_model()                                   # embedded SmolLM2, cached per process
    >>> load_model("openai", base_url="http://127.0.0.1:8080/v1", model="smollm2")
    """
    _register_builtins()
    try:
        factory = _BACKENDS[backend]
    except KeyError:
        known = ", ".join(sorted(_BACKENDS))
        raise AIError(f"unknown model backend {backend!r} (known: {known})") from None
    return factory(**options)
