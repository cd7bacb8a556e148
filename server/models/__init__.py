"""Every table, imported so ``SQLModel.metadata`` knows them all (Alembic reads it)."""

from server.models.audit import AppMeta, AuditEntry
from server.models.customers import Contact, Customer, Venue
from server.models.drill import Drill
from server.models.equipment import (
    Depot,
    DeviceType,
    OrderLine,
    RentalOrder,
    RepairTicket,
    SpareRequest,
    SpareStatus,
    Unit,
    UnitStatus,
)
from server.models.feedback import Feedback, FeedbackLink, GuessFailure
from server.models.field import FieldFact, Photo, UnitSwap
from server.models.inbound import ChannelCursor, InboundContact, InboundMessage, UsedLink
from server.models.integrations import ImportUpload, IntegrationToken
from server.models.jobs import ACTIVE_JOB_STATUSES, Job, JobStatus, RequestBackupCall
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
from server.models.session import LoginAttempt, WebSession
from server.models.sla import SlaClock, SlaEvent, SlaPause, SlaRun
from server.models.staff import Group, Role, Staff, StaffRole, TrainingRecord
from server.models.sync import ChangeRecord, ClientMutation, SyncInbox

__all__ = [
    "ACTIVE_JOB_STATUSES", "OPEN_STATUSES", "Absence", "AppMeta", "AuditEntry",
    "CalendarOverride", "ChangeRecord", "ChannelCursor", "ClientMutation", "Contact", "Customer",
    "DayOffRequest", "Depot", "DeviceType", "Drill", "Feedback", "FeedbackLink", "FieldFact",
    "Group", "GuessFailure", "ImportUpload", "InboundContact", "InboundMessage", "IntegrationToken",
    "Job", "JobStatus", "LoginAttempt", "Notification", "OrderLine", "Photo", "PushSubscription",
    "RentalOrder", "RepairTicket", "RequestBackupCall", "RequestStatus", "Role", "Roster", "RosterBackup", "Shift",
    "SlaClock", "SlaEvent", "SlaPause", "SlaRun", "SpareRequest", "SpareStatus", "Staff", "StaffRole",
    "SyncInbox",
    "SupportRequest", "SwapRequest", "UsedLink",
    "TrainingRecord", "Unit", "UnitStatus", "UnitSwap", "Venue", "WebSession",
]
