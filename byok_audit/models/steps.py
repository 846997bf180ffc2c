"""The step vocabulary: what each scenario step does and what it records in a :class:`StepRecord`.

This is the contract between the scenario runner (which performs steps and records them) and the checks
(which read them). A check finds the steps it needs by ``action`` (and order), never by scenario name.

Every step records ``started``/``ended``; the outbound exchanges seen in that window are in
``exchange_ids``; calls the driver made to the target API are in ``calls``. ``outcome`` is ``ok`` when the
target accepted the request (2xx), ``refused`` when it answered 4xx/5xx, ``error`` when the harness could
not perform the step at all (a check that depends on that step must then report ERROR).

======================  ===========================================  ==================================
action                  params                                       data (recorded by the runner)
======================  ===========================================  ==================================
create_user             user                                          user_id (when the target returns one)
put_key                 user; key (canary id); against? (victim)      —
get_key                 user; against?                                —
delete_key              user; against?                                —
prompt                  user; model; max_tokens; stream; prompt       key: canary id of the user's current
                        (canary id); expect ("ok" | "refused");       key or null; fault: armed fault kind
                        against?                                      or null
idle                    seconds                                       —
fault                   kind (unauthorized | rate_limited |           —
                        server_error | overloaded | slow | timeout |
                        malformed); count
bad_input               user; kind (malformed_key | oauth_token |     canary: id of the submitted secret,
                        invalid_json | oversized_body | unknown_model if any
                        | no_auth | bad_token | key_in_query)
snapshot                label                                         the DbSnapshot with this label and
                                                                      step_index is in db_snapshots
tamper                  user                                          table, column, row (primary key
                                                                      repr), byte_offset, bit
transplant              from_user; to_user                            table, column, rows
restart                 —                                             —
======================  ===========================================  ==================================

``against`` names the victim when one user deliberately acts on another's resources (API-03).
"""

from __future__ import annotations

from enum import StrEnum


class StepAction(StrEnum):
    CREATE_USER = "create_user"
    PUT_KEY = "put_key"
    GET_KEY = "get_key"
    DELETE_KEY = "delete_key"
    PROMPT = "prompt"
    IDLE = "idle"
    FAULT = "fault"
    BAD_INPUT = "bad_input"
    SNAPSHOT = "snapshot"
    TAMPER = "tamper"
    TRANSPLANT = "transplant"
    RESTART = "restart"


class FaultKind(StrEnum):
    """What the mock provider does to the next generation call(s) when a ``fault`` step arms it."""

    UNAUTHORIZED = "unauthorized"  # 401 with the provider's authentication error
    RATE_LIMITED = "rate_limited"  # 429 with retry-after
    SERVER_ERROR = "server_error"  # 500
    OVERLOADED = "overloaded"  # 529 (Anthropic overloaded_error; OpenAI gets a 503)
    SLOW = "slow"  # wait, then answer normally
    TIMEOUT = "timeout"  # hold the request (until the delay or shutdown), then drop it
    MALFORMED = "malformed"  # 200 with a truncated JSON body


class BadInputKind(StrEnum):
    MALFORMED_KEY = "malformed_key"
    OAUTH_TOKEN = "oauth_token"
    INVALID_JSON = "invalid_json"
    OVERSIZED_BODY = "oversized_body"
    UNKNOWN_MODEL = "unknown_model"
    NO_AUTH = "no_auth"
    BAD_TOKEN = "bad_token"
    KEY_IN_QUERY = "key_in_query"
