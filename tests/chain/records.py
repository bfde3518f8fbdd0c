"""A home's deployment record as an older version wrote it, and as `doctor --repair` rebuilds it
from the chain: for the tests of each contract the deployment gained over time."""

from __future__ import annotations

import json

from tantieme.chain.deploy import deployment_path, ensure_deployed
from tantieme.maintenance import doctor
from tantieme.node import Node


def record_without(node: Node, *fields: str, **written: str) -> dict:
    """Rewrite the node's deployment record as one written before `fields` existed (with the
    `written` values instead of the chain's); the record as written."""
    path = deployment_path(node.conn.chain_id)
    old = {**{k: v for k, v in json.loads(path.read_text()).items() if k not in fields}, **written}
    path.write_text(json.dumps(old))
    return old


def recovered_by_doctor(node: Node, *fields: str) -> None:
    """The node's deployment record lost: `doctor --repair` rebuilds it from the chain with the
    same `fields`, and `init` then deploys nothing."""
    deployment_path(node.conn.chain_id).unlink()
    node.close()
    assert {f.name: f for f in doctor.run(repair=True).findings}["deployment"].repaired
    with Node.open() as reopened:
        assert {k: getattr(reopened.deployment, k) for k in fields} == {k: getattr(node.deployment, k) for k in fields}
        assert ensure_deployed(reopened.conn, local=True)[1] is False
