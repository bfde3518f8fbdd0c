"""`headcache.at_head`: a read runs once per head block; any new block, whoever sends it, drops
what was kept; each home keeps its own."""

from __future__ import annotations

from tantieme.chain.accounts import dev_account
from tantieme.chain.headcache import at_head
from tantieme.node import Node


def test_at_head__once_per_block__a_new_block_reads_again(tantieme_home, monkeypatch, tmp_path, init_embedded):
    init_embedded()
    reads = []

    def balance(node: Node) -> int:
        return at_head(node, "balance", lambda: reads.append(1) or node.balance(dev_account(3).address))

    with Node.open() as node:
        assert balance(node) == balance(node) == 0
        assert len(reads) == 1
        assert at_head(node, "other", lambda: "x") == "x"  # another key, same block
        node.faucet(dev_account(3).address)  # a new block
        assert balance(node) > 0 and len(reads) == 2
        with Node.open(readonly=True) as reader:  # another connection to the same chain and home
            assert balance(reader) > 0 and len(reads) == 2
        monkeypatch.setenv("TANTIEME_HOME", str(tmp_path / "elsewhere"))  # another home: nothing kept for it
        assert balance(node) > 0 and len(reads) == 3
