"""no-audit-log: the per-request metadata line is gone ("logs are noise"): nobody can tell afterwards
who called which model, when, for how many tokens, with what result.
"""

from __future__ import annotations

from reference_impl.flaws.base import Flaw, swap
from reference_impl.logs import RequestLogger, RequestMeta


class SilentRequestLogger(RequestLogger):
    def log(self, meta: RequestMeta) -> None:
        del meta


FLAW = Flaw(
    name="no-audit-log",
    component="request logger",
    summary="writes no per-request metadata record",
    apply=lambda c, ctx: swap(c, request_logger=SilentRequestLogger()),
)
