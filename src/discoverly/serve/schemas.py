"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

__all__ = ["EventIn", "EventBatch", "EventsBody", "IngestOut", "ScoredItem", "RecommendationsOut", "RelatedOut",
           "ExperimentRef", "HealthOut", "ReloadIn", "ReloadOut", "Problem", "Id", "id_problem", "not_bool",
           "unpaired_surrogate"]

#: external ids are strings or integers (as in the training data); URLs carry them as strings
Id = str | int

EventType = Literal["purchase", "view", "click", "rating"]

_MIN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def not_bool(value: object) -> object:
    """The body of a ``mode="before"`` validator where a number or an id is expected: JSON ``true``/``false``
    is refused (pydantic reads it as 1/0: an id "1", a time in 1970, an epsilon of 1)."""
    if isinstance(value, bool):
        raise ValueError("a boolean (true/false) is not a valid value here")
    return value


def unpaired_surrogate(text: str) -> str | None:
    """The first unpaired surrogate in ``text``, or None. JSON can spell one (``"\\ud800"``); it is not
    valid Unicode, so it cannot be encoded as UTF-8 for the store or a model."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def control_character(text: str) -> str | None:
    """The first control character in ``text`` (C0, DEL or C1: Unicode's category Cc), or None."""
    return next((c for c in text if ord(c) < 32 or 127 <= ord(c) < 160), None)


def id_problem(value: str) -> str | None:
    """What is wrong with a text id (in a body or a URL), or None: the rules every stored id keeps."""
    if not value.strip() or len(value) > 256:
        return "ids must be 1 to 256 characters and not blank"
    if control_character(value) is not None:
        return "ids must not contain control characters"
    if unpaired_surrogate(value) is not None:
        return "ids must be valid Unicode (an unpaired surrogate such as \\ud800 is not)"
    return None


class EventIn(BaseModel):
    """One event. ``timestamp`` is epoch seconds or an ISO 8601 time (UTC when no zone is given)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    user: Id = Field(description="the customer's external id")
    item: Id = Field(description="the item's external id")
    type: EventType = Field(description="purchase, view, click or rating")
    timestamp: int | dt.datetime = Field(description="when it happened: epoch seconds or ISO 8601")
    quantity: float = Field(default=1.0, gt=0, le=1_000_000)
    value: float | None = Field(default=None, ge=-1e9, le=1e9,
                                description="revenue of a purchase, or the rating of a rating event")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200,
                                        description="unique per event; a retry with the same key is not "
                                                    "counted twice. Required unless the Idempotency-Key header "
                                                    "is sent")

    @field_validator("user", "item", "timestamp", mode="before")
    @classmethod
    def _not_bool(cls, value: object) -> object:
        return not_bool(value)

    @field_validator("user", "item")
    @classmethod
    def _id(cls, value: str | int) -> str | int:
        if isinstance(value, str):
            problem = id_problem(value)
            if problem:
                raise ValueError(problem)
        elif not -(2**63) <= value < 2**63:
            raise ValueError("integer ids must fit in 64 bits")
        return value

    @field_validator("idempotency_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and control_character(value) is not None:
            raise ValueError("idempotency keys must not contain control characters")
        return value

    def epoch_seconds(self) -> int:
        t = self.timestamp
        if isinstance(t, int):
            return t
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return int(t.timestamp())

    @field_validator("timestamp")
    @classmethod
    def _time(cls, value: int | dt.datetime) -> int | dt.datetime:
        if isinstance(value, int):
            if 2**37 <= value < 2**37 * 1000:  # JavaScript's Date.now() and many loggers count milliseconds
                raise ValueError(f"{value} is not epoch seconds (that would be after the year 6325): it looks like "
                                 f"milliseconds; send seconds ({value // 1000})")
            if not 0 <= value < 2**37:
                raise ValueError("epoch seconds must be between 0 (1970) and 2^37 (year 6325)")
        else:
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            if aware < _MIN_TIME:
                raise ValueError("timestamps before 1970 are not accepted")
        return value


class EventBatch(BaseModel):
    """Several events, stored all together or not at all."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


def _body_shape(value: object) -> str:
    return "EventBatch" if isinstance(value, dict) and "events" in value else "EventIn"


#: the body of ``POST /events``: a batch when it has ``events``, else one event (so a validation error
#: names the fields of the shape that was sent, not of both)
EventsBody = Annotated[Annotated[EventIn, Tag("EventIn")] | Annotated[EventBatch, Tag("EventBatch")],
                       Discriminator(_body_shape)]


class IngestOut(BaseModel):
    accepted: int = Field(description="events newly stored")
    duplicates: int = Field(description="events whose idempotency key was already stored (not stored again)")


class ScoredItem(BaseModel):
    item: Id
    title: str | None = None
    score: float | None = None
    rank: int
    source: Literal["model", "bestsellers"] = Field(description="'bestsellers' marks a fallback item")


class ExperimentRef(BaseModel):
    name: str
    arm: str


class RecommendationsOut(BaseModel):
    user: Id
    version: str = Field(description="the model version that answered")
    fallback: bool = Field(description="true when the customer had no usable history and got the bestsellers")
    fresh_events: int = Field(description="stored events since training that shaped this answer")
    experiment: ExperimentRef | None = None
    items: list[ScoredItem]


class RelatedOut(BaseModel):
    item: Id
    title: str | None = None
    version: str
    fallback: bool = Field(description="true when the model had no related items and the bestsellers answered")
    experiment: ExperimentRef | None = None
    items: list[ScoredItem]


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    versions: list[str]
    store: str
    uptime_seconds: float


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, max_length=64,
                                description="switch to this version; default: what CURRENT names")


class ReloadOut(BaseModel):
    previous: str
    version: str
    loaded: list[str]


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
