"""Every screen family's routes, collected for create_app."""

from server.routes import admin, auth, board, events, home, intake, profile, remote, system

ROUTES = [*auth.ROUTES, *home.ROUTES, *admin.ROUTES, *profile.ROUTES, *system.ROUTES,
          *intake.ROUTES, *board.ROUTES, *events.ROUTES, *remote.ROUTES]

# The onsite engineer's phone and the offline sync protocol (issue 4).
from server.routes import field  # noqa: E402
from server.sync import routes as sync_routes  # noqa: E402

ROUTES += [*field.ROUTES, *sync_routes.ROUTES]

# Job alerts: subscriptions, receipts, delivery status (issue 5).
from server.routes import push  # noqa: E402

ROUTES += [*push.ROUTES]

# The support manager's special-period calendar and its overrides (issue 3, D2).
from server.routes import calendar  # noqa: E402

ROUTES += [*calendar.ROUTES]

# The roster, the team and my shifts (issue 6).
from server.routes import roster, roster_swaps, shifts, team  # noqa: E402

ROUTES += [*roster.ROUTES, *roster_swaps.ROUTES, *shifts.ROUTES, *team.ROUTES]

# Follow-up: the customer's feedback closes or reopens a resolved request (S6, D9).
from server.routes import followup  # noqa: E402

ROUTES += [*followup.ROUTES]

# The equipment department's desk: stock, spare units, repairs, labels (issue 15).
from server.routes import equipment  # noqa: E402

ROUTES += [*equipment.ROUTES]
# Reaching people in mainland China: channels, the inbox, the customer's status link (issue 17).
from server.routes import channels, customer_status, inbox, status_link  # noqa: E402

ROUTES += [*channels.ROUTES, *inbox.ROUTES, *customer_status.ROUTES, *status_link.ROUTES]
# Closing the loop: the customer's feedback link, KPIs, monthly review, drills, audit (issue 16).
from server.routes import audit, drill, feedback_link, kpi  # noqa: E402

ROUTES += [*feedback_link.ROUTES, *kpi.ROUTES, *drill.ROUTES, *audit.ROUTES]

# Real company data: customers, venues, orders, units, depots, import, integrations (issue 14).
from server.routes import customers, imports, integrations, orders, units  # noqa: E402

ROUTES += [*customers.ROUTES, *orders.ROUTES, *units.ROUTES, *imports.ROUTES,
           *integrations.ROUTES]
