"""Every screen family's routes, collected for create_app."""

from server.routes import admin, auth, board, home, intake, profile, remote, system

ROUTES = [*auth.ROUTES, *home.ROUTES, *admin.ROUTES, *profile.ROUTES, *system.ROUTES,
          *intake.ROUTES, *board.ROUTES, *remote.ROUTES]

# The support manager's special-period calendar and its overrides (issue 3, D2).
from server.routes import calendar  # noqa: E402

ROUTES += [*calendar.ROUTES]
