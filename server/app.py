"""create_app(settings) -> Litestar; nothing else."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request
from litestar.concurrency import get_asyncio_executor, set_asyncio_executor
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from server import __version__, clock, heap, i18n, live
from server.actions import audit
from server.csrf import SessionCSRFMiddleware
from server.db import make_engine
from server.domain.devices import device_label
from server.headers import security_headers
from server.jobs import loop as background
from server.jobs import push as push_jobs
from server.loops import PerLoopEventEmitter
from server.push.vapid import warn_about_subject
from server.routes import ROUTES, rental_api
from server.routes._errors import EXCEPTION_HANDLERS
from server.routes._http import SELF_COMPRESSED, provide_db
from server.security import SessionAuthMiddleware, signed_in
from server.sessions import make_session_config
from server.settings import Settings
from server.sync import applier_process
from server.web import STATIC_DIR, TEMPLATE_DIR, install_template_helpers


def openapi_config() -> OpenAPIConfig:
    """Only the JSON document (/schema and /schema/openapi.json), only for signed-in
    staff (the app-wide guard): no documentation UI, whose scripts come from public CDNs."""
    return OpenAPIConfig(
        title="FieldOps", version=__version__, path="/schema",
        render_plugins=[JsonRenderPlugin(path=["/openapi.json", "/"])],
        components=Components(security_schemes={"integrationToken": SecurityScheme(
            type="http", scheme="bearer",
            description="An integration token from the admin's integrations screen.")}),
    )


def _request_threads(size: int = 32) -> None:
    """Handlers block on the database, some waiting for SQLite's write lock: give them
    more threads than asyncio's default (cores + 4), so waiting writers cannot starve
    the readers. One pool per process."""
    if get_asyncio_executor() is not None:
        return
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="request")
    try:
        set_asyncio_executor(pool)
    except RuntimeError:  # `serve --workers N`: uvicorn builds the app inside the worker's loop
        asyncio.get_running_loop().set_default_executor(pool)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = (settings or Settings.from_env()).with_secrets()
    if settings.clock_start:  # tests and demos (server.clock); each worker process sets its own
        clock.start_at(clock.parse_start(settings.clock_start))
    engine = make_engine(settings.db_url, durable_sync=settings.sqlite_durable_sync)
    _request_threads()

    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_template_helpers(env, settings)

    session_config, session_store = make_session_config(settings, engine)
    push_problem = warn_about_subject(settings.vapid_subject, settings.push_enabled)

    async def set_request_locale(request: Request) -> None:
        user = request.scope.get("user")
        i18n.set_locale(
            i18n.pick_locale(user.locale if user else None, request.cookies.get("lang"), None)
        )
        audit.current_device.set(device_label(request.headers.get("user-agent"),
                                              request.client.host if request.client else None))

    return Litestar(
        route_handlers=[*ROUTES, rental_api.router(settings), create_static_files_router("/static", [STATIC_DIR], opt={"public": True}, include_in_schema=False)],
        dependencies={"db": Provide(provide_db)},
        middleware=[
            session_config.middleware,
            DefineMiddleware(SessionAuthMiddleware, exclude=["/static", "/healthz"]),
            SessionCSRFMiddleware(secret=settings.secret_key, secure=settings.secure_cookies),
        ],
        stores={"sessions": session_store},
        guards=[signed_in],
        before_request=set_request_locale,
        before_send=[security_headers(hsts=settings.secure_cookies)],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        plugins=[HTMXPlugin()],
        lifespan=[live.lifespan],  # made in the loop running the lifespan (server.live)
        event_emitter_backend=PerLoopEventEmitter,
        on_startup=[applier_process.start, background.start, push_jobs.start, heap.settle],
        on_shutdown=[push_jobs.stop, background.stop, applier_process.stop],
        request_class=HTMXRequest,
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6,
                                             exclude_opt_key=SELF_COMPRESSED),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        state=State({"settings": settings, "engine": engine, "push_problem": push_problem,
                     live.HUBS: {}}),
        debug=settings.debug,
    )


__all__ = ["create_app"]
