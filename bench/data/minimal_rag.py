"""A user's own minimal local RAG, the anchor of bench/e2e.py: bm25s over the corpus's
paragraphs, the 4 best passages, one answer from the same GGUF through llama-cpp-python
(its default threads, or as many as a 4th argument says)."""

import sys
from pathlib import Path

import bm25s
import llama_cpp

corpus, gguf, question = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
passages = [p.strip() for f in sorted(corpus.glob("*.md")) for p in f.read_text().split("\n\n") if p.strip()]
retriever = bm25s.BM25()
retriever.index(bm25s.tokenize(passages, stopwords="en", show_progress=False), show_progress=False)
found, _ = retriever.retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False), k=4, show_progress=False)
context = "\n\n".join(passages[i] for i in found[0])
threads = {"n_threads": int(sys.argv[4]), "n_threads_batch": int(sys.argv[4])} if len(sys.argv) > 4 else {}
llm = llama_cpp.Llama(model_path=gguf, n_ctx=2048, verbose=False, **threads)
reply = llm.create_chat_completion(
    [{"role": "user", "content": f"Answer the question from these passages.\n\n{context}\n\nQuestion: {question}"}],
    max_tokens=96, temperature=0.0,
)
print(reply["choices"][0]["message"]["content"])
