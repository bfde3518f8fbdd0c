"""Errors as OpenAI's API shapes them: `{"error": {"message", "type", "code", "param"}}`.

Every error the service answers, from a malformed body to a full queue, is one
`ApiError`; nothing is charged and nothing is recorded for it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

__all__ = ["ApiError", "error_response", "install"]

log = logging.getLogger("tantieme.api")


class ApiError(Exception):
    """An HTTP error with OpenAI's body (and `extra` fields in its error object); `headers`
    such as `Retry-After`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}
        """More fields of the error object (what a 402 offers, say)."""

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.type, self.code, self.param, self.headers, self.extra)


def error_response(
    status: int,
    message: str,
    type: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type, "code": code, "param": param, **(extra or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def install(app: FastAPI) -> None:
    """Answer every error of `app` in OpenAI's shape (a bug: a 500 that names no detail)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(
            exc.status_code, str(exc.detail), "invalid_request_error",
            _HTTP_CODES.get(exc.status_code), headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:])
        return error_response(422, f"{where}: {first.get('msg', 'invalid')}", "invalid_request_error", "invalid_value", where or None)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "the node failed to answer (see its log)", "server_error", "internal_error")
