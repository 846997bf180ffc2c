"""Server configuration, validated once at startup (CLI flags and env vars feed it)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_MODELS = (
    "claude-opus-4-1",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-3-5-haiku-latest",
)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    port_file: Path | None = None
    db: str = "byok-ref.sqlite3"
    log_file: Path | None = None
    log_stderr: bool = True
    dev_signup: bool = False
    models: tuple[str, ...] = DEFAULT_MODELS
    max_tokens_limit: int = Field(8192, ge=1)
    monthly_token_cap: int | None = Field(None, ge=1)
    upstream_timeout_s: float = Field(60.0, gt=0)
    max_body_bytes: int = Field(64 * 1024, ge=1024)

    @field_validator("models")
    @classmethod
    def _models_look_like_model_ids(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        if not models:
            raise ValueError("at least one model must be allowed")
        for model in models:
            if not model or len(model) > 100 or not all(c.isalnum() or c in "-._" for c in model):
                raise ValueError("model ids may contain only letters, digits, '-', '.', '_'")
        return models
