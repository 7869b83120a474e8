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

# Numbers and times are bounded by what the store and the detection arithmetic can hold:
# the integer columns are 32-bit in PostgreSQL, and a window or cooldown added to a time
# must stay a valid datetime. Out of range is a rejection of that item, never a lost batch.
MAX_INT32 = 2**31 - 1
MAX_VALUE = 1e12  # a count per interval; far above any real queue, far below float overflow
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


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
        le=MAX_INT32,
        validation_alias=AliasChoices("author_reach", "followers"),
        description="The author's audience (followers)",
    )
    text: str | None = Field(default=None, max_length=20_000)
    language: Annotated[str, Field(max_length=16)] | None = None
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description=(
            "ISO-8601; a time without offset is read as UTC; default: now; from 1970 to 2199"
        ),
    )
    url: Annotated[str, Field(max_length=2048)] | None = None
    brand: ShortText | None = None
    topic: ShortText | None = None
    sentiment: float | None = Field(default=None, ge=-1.0, le=1.0)
    value: float = Field(
        default=1.0,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="1 for a mention; the count for volume",
    )
    interval_seconds: int | None = Field(default=None, gt=0, le=MAX_INT32)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL cannot store U+0000 in text: refuse the item here, not the whole batch there.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            utc = None
        if utc is None or not EARLIEST <= utc < LATEST:
            raise ValueError(
                f"{value.isoformat()} is out of range: a signal's time is from "
                f"{EARLIEST.year} to {LATEST.year - 1}"
            )
        return utc

    @model_validator(mode="after")
    def _complete(self) -> SignalIn:
        if self.type == "mention" and not self.text:
            raise ValueError("a mention needs a non-empty 'text'")
        if self.type == "volume" and "value" not in self.model_fields_set:
            raise ValueError("a volume signal needs a 'value' (the count for its interval)")
        return self


signal_adapter: TypeAdapter[SignalIn] = TypeAdapter(SignalIn)
