"""Every router of the web UI."""

from fastapi import APIRouter

from myia.web.routes import (
    admin_catalog,
    admin_catalog_deployments,
    admin_catalog_models,
    admin_catalog_prices,
    admin_catalog_providers,
    admin_certifications,
    admin_jobs,
    admin_logs,
    admin_ops,
    auth,
    chat,
    model_prices,
    models,
    models_search,
    user_settings,
)

WEB_ROUTERS: list[APIRouter] = [auth.router, chat.router, models.router, user_settings.router]
WEB_ROUTERS += [admin_certifications.router, admin_jobs.router, admin_catalog.router]
WEB_ROUTERS += [admin_ops.router, admin_logs.router, model_prices.router]
# /models/search: find deployments by constraints (issue 27).
WEB_ROUTERS += [models_search.router]
# The catalog editor (issue 27): base models, deployments and provider settings in full.
WEB_ROUTERS += [
    admin_catalog_models.router,
    admin_catalog_deployments.router,
    admin_catalog_providers.router,
    admin_catalog_prices.router,
]
