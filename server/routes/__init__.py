"""Every screen family's routes, collected for create_app."""

from server.routes import admin, auth, home, intake, profile, system

ROUTES = [*auth.ROUTES, *home.ROUTES, *admin.ROUTES, *profile.ROUTES, *system.ROUTES,
          *intake.ROUTES]
