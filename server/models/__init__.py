"""Every table, imported so ``SQLModel.metadata`` knows them all (Alembic reads it)."""

from server.models.audit import AppMeta, AuditEntry
from server.models.customers import Contact, Customer, Venue
from server.models.equipment import Depot, DeviceType, OrderLine, RentalOrder, Unit, UnitStatus
from server.models.feedback import Feedback
from server.models.field import FieldFact, Photo, UnitSwap
from server.models.inbound import ChannelCursor, InboundContact, InboundMessage, UsedLink
from server.models.jobs import ACTIVE_JOB_STATUSES, Job, JobStatus
from server.models.push import Notification, PushSubscription
from server.models.requests import OPEN_STATUSES, RequestStatus, SupportRequest
from server.models.roster import (
    Absence,
    CalendarOverride,
    DayOffRequest,
    Roster,
    RosterBackup,
    Shift,
    SwapRequest,
)
from server.models.sla import SlaClock, SlaEvent, SlaPause
from server.models.staff import Group, LoginFailure, Role, Staff, StaffRole, TrainingRecord
from server.models.sync import ChangeRecord, ClientMutation

__all__ = [
    "ACTIVE_JOB_STATUSES", "OPEN_STATUSES", "Absence", "AppMeta", "AuditEntry",
    "CalendarOverride", "ChangeRecord", "ChannelCursor", "InboundContact", "InboundMessage", "UsedLink", "ClientMutation", "Contact", "Customer",
    "DayOffRequest", "Depot", "DeviceType", "Feedback", "FieldFact", "Group", "Job",
    "JobStatus", "LoginFailure", "Notification", "OrderLine", "Photo", "PushSubscription",
    "RentalOrder", "RequestStatus", "Role", "Roster", "RosterBackup", "Shift", "SlaClock",
    "SlaEvent", "SlaPause", "Staff", "StaffRole", "SupportRequest", "SwapRequest",
    "TrainingRecord", "Unit", "UnitStatus", "UnitSwap", "Venue",
]
