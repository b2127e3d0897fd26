"""Who may drive the trace UI: only its own user. A web page the user happens to visit must not approve a
review or start a render (cross-site POST), a rebinding DNS name must not read the runs (Host allowlist),
error pages must not tell where files live, and a UI bound beyond loopback needs an access token."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_COOKIE = "recgen_token"
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"`;,)]+/)+([^\s'\"`;,)]*)")


def is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK_HOSTS


def _name(host_header: str) -> str:
    """'127.0.0.1:8765' → '127.0.0.1'; '[::1]:80' → '::1'."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class Guard:
    hosts: frozenset[str] | None  # Host names served; None: any (only with a token)
    token: str | None = None

    @classmethod
    def for_bind(cls, host: str, token: str | None = None, extra_hosts: tuple[str, ...] = ()) -> Guard:
        """Loopback: the loopback names only. Beyond loopback: a token is required (one is made if none is
        given), and the Host is not restricted unless names are given."""
        if is_loopback(host) and token is None:
            return cls(LOOPBACK_HOSTS | {_name(h) for h in extra_hosts})
        hosts = frozenset({_name(h) for h in extra_hosts} | LOOPBACK_HOSTS) if extra_hosts else None
        return cls(hosts, token or secrets.token_urlsafe(18))

    def check(self, request: Request) -> Response | None:
        """None when the request may go on; otherwise the refusal."""
        host = request.headers.get("host", "")
        if self.hosts is not None and _name(host) not in self.hosts:
            return PlainTextResponse("unknown Host header; use the address the server printed", status_code=400)
        if self.token is not None:
            given = request.query_params.get("token")
            if given is not None and secrets.compare_digest(given, self.token) and request.method in SAFE_METHODS:
                back = RedirectResponse(str(request.url.remove_query_params("token")), status_code=303)
                back.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return back
            if not self._has_token(request):
                return PlainTextResponse(
                    "this recgen UI needs its access token: open the link it printed when it started",
                    status_code=401,
                )
        if request.method not in SAFE_METHODS and not self._same_origin(request, host):
            return PlainTextResponse("refused: the request came from another site", status_code=403)
        return None

    def _has_token(self, request: Request) -> bool:
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        auth = request.headers.get("authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else ""
        return any(secrets.compare_digest(t, self.token or "") for t in (cookie, bearer) if t)

    @staticmethod
    def _same_origin(request: Request, host: str) -> bool:
        """A browser names the page a POST comes from (Origin, else Referer); it must be this UI. A request
        naming neither is not from a browser page (curl, scripts) and cannot be forged cross-site."""
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            return True
        if origin == "null":
            return False
        return urlsplit(origin).netloc.lower() == host.lower()


def public_message(message: str, runs_dir: Path) -> str:
    """An error as the browser may see it: no absolute paths (the runs folder becomes 'runs')."""
    for root in {str(Path(runs_dir).resolve()), str(runs_dir)}:
        if root.startswith("/"):
            message = message.replace(root, "runs")
    return _ABS_PATH.sub(lambda m: m.group(1) or "…", message)
