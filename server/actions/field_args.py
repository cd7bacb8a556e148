"""The arguments of each field action (``server.actions.field``): bounds, units and
defaults, checked before any rule runs; also the OpenAPI schema of ``/sync/push``."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from server.domain import field as rules

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=32)]


class JobArgs(BaseModel):
    """Every field action names its job and the client-made id of the fact it records."""

    model_config = ConfigDict(extra="ignore")
    job_id: int = Field(gt=0, lt=2**31)
    fact_id: UUID | None = Field(default=None, description="client-made; default: the mutation id")


class AcceptArgs(JobArgs):
    pass


class OnMyWayArgs(JobArgs):
    """The position, when the phone gives one, lets the customer's status link show an
    arrival estimate (D19); it is never shown itself."""

    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS-84, optional")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS-84, optional")
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)

    @field_validator("lat", "lon", "accuracy_m", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        """A phone without a position sends the fields empty: still on its way (D14)."""
        return None if isinstance(value, str) and not value.strip() else value


class CheckInArgs(JobArgs):
    lat: float = Field(ge=-90, le=90, description="WGS-84, from the phone")
    lon: float = Field(ge=-180, le=180, description="WGS-84, from the phone")
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class FixNoteArgs(JobArgs):
    fault_kind: Literal[rules.FAULT_KINDS]  # type: ignore[valid-type]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PhotoArgs(JobArgs):
    image: str = Field(max_length=3_000_000, description="JPEG/PNG/WebP, base64 or data: URL")
    caption: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class SwapArgs(JobArgs):
    unit_out: Tag = Field(description="asset tag of the unit taken out")
    unit_in: Tag = Field(description="asset tag of the reserve unit put in")
    reason: Text = ""


class DoneArgs(JobArgs):
    customer_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                    max_length=64)]
    stream_back: bool = Field(default=False, description="the customer confirms the stream is "
                              "back (asked only when a stream is affected)")
    note: Text = ""
