"""Outside tools read an asset's metadata: `tokenURI` on a real node (anvil),
called and ABI-decoded by Foundry's `cast`, its data URI and JSON parsed by
Node.js, never by our own code."""

from __future__ import annotations

from tantieme.assets import registry
from tantieme.assets.royalties import mint_license
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.node import Node

PARSE = (
    "const uri = process.argv[1];"
    "if (!uri.startsWith('data:application/json;base64,')) throw new Error(uri);"
    "process.stdout.write(JSON.stringify(JSON.parse(Buffer.from(uri.split(',')[1], 'base64').toString('utf8'))));"
)


def outside_read(cast, nodejs, rpc_url: str, registry_address: str, asset_id: int) -> dict:
    (text,) = cast("call", registry_address, "tokenURI(uint256)(string)", str(asset_id), "--rpc-url", rpc_url)
    return nodejs("-e", PARSE, text)


def test_token_uri__read_by_cast_and_node(initialised_anvil, tmp_path, cast, nodejs):
    with Node.open() as node:
        creator = node.as_account(dev_account(1))
        node.faucet(creator.address)
        work = tmp_path / "essay.md"
        work.write_text('A "quoted" essay\\ with a backslash.')
        parent = registry.register(creator, work, terms=preset("open"), title="Essay")
        mint_license(node, parent.id)
        remix = tmp_path / "remix.md"
        remix.write_text("A remix.")
        child = registry.register(node, remix, terms=preset("open").with_(ai_training=False), parents=(parent.id,))
        registry.tighten_consent(creator, parent.id, **(parent.terms.ai_consent() | {"retrieval": False}))

        data = outside_read(cast, nodejs, initialised_anvil, node.deployment.registry, child.id)

        assert data["name"] == f"tantieme IP Asset #{child.id}"
        assert data["kind"] == "work"
        assert data["external_url"] == child.uri
        assert data["content_hash"] == "0x" + child.content_hash
        assert data["parents"] == [parent.id]
        assert data["ai_consent"] == {"training": False, "fine_tuning": True, "retrieval": False,
                                      "output_commercial": True}
        assert data["terms"]["ai_retrieval"] is True and data["terms"]["ai_training"] is False
        assert data["terms"]["royalty_bps"] == preset("open").royalty_bps
        assert data["royalty_vault"] == node.registry.functions.royaltyVault(child.id).call().lower()
