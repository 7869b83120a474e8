"""`SignalIn`: one signal as a client sends it, validated item by item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

ShortText = Annotated[str, Field(max_length=128)]


class SignalIn(BaseModel):
    """A social mention (text + author) or a contact-centre volume (a count per interval)."""

    # Unknown keys are ignored: listening tools send many extra fields and we must not
    # reject a whole mention because of one we do not use.
    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,  # tweet ids often arrive as JSON numbers
    )

    type: Literal["mention", "volume"] = "mention"
    source: Annotated[str, Field(min_length=1, max_length=64)] = "api"
    source_id: ShortText | None = Field(
        default=None,
        validation_alias=AliasChoices("source_id", "id"),
        description="The id in the source system; (source, source_id) de-duplicates",
    )
    channel: ShortText | None = Field(
        default=None,
        validation_alias=AliasChoices("channel", "queue"),
        description="Where it was seen; the queue name for volume signals",
    )
    author: Annotated[str, Field(max_length=256)] | None = None
    author_reach: int = Field(
        default=0,
        ge=0,
        validation_alias=AliasChoices("author_reach", "followers"),
        description="The author's audience (followers)",
    )
    text: str | None = Field(default=None, max_length=20_000)
    language: Annotated[str, Field(max_length=16)] | None = None
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="ISO-8601; a time without offset is read as UTC; default: now",
    )
    url: Annotated[str, Field(max_length=2048)] | None = None
    brand: ShortText | None = None
    topic: ShortText | None = None
    sentiment: float | None = Field(default=None, ge=-1.0, le=1.0)
    value: float = Field(default=1.0, ge=0, description="1 for a mention; the count for volume")
    interval_seconds: int | None = Field(default=None, gt=0)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _complete(self) -> SignalIn:
        if self.type == "mention" and not self.text:
            raise ValueError("a mention needs a non-empty 'text'")
        if self.type == "volume" and "value" not in self.model_fields_set:
            raise ValueError("a volume signal needs a 'value' (the count for its interval)")
        return self


signal_adapter: TypeAdapter[SignalIn] = TypeAdapter(SignalIn)
