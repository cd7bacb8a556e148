"""Every screen family's routes, collected for create_app."""

from server.routes import admin, auth, board, home, intake, profile, remote, system

ROUTES = [*auth.ROUTES, *home.ROUTES, *admin.ROUTES, *profile.ROUTES, *system.ROUTES,
          *intake.ROUTES, *board.ROUTES, *remote.ROUTES]
