"""`GET /.well-known/agent-registration.json`: the node's ERC-8004 registration file."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tantieme.api.chat import ServiceDep

router = APIRouter()


@router.get("/.well-known/agent-registration.json")
def agent_registration(request: Request, service: ServiceDep) -> dict:
    """The registration file of this node's agent (`tantieme agent register`); before the node
    registers, the same file without its registration. Its services are at the URL the node
    registered, else at the address this request reached."""
    from tantieme.agents.identity import node_profile, registration_file

    return registration_file(node_profile(service.node), str(request.base_url))
