"""Every router of the API, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

from myia.api.routes import api_keys as api_key_routes
from myia.api.routes import auth, credentials, health
from myia.api.routes import certification_queue as certification_queue_routes
from myia.api.routes import chats as chat_routes
from myia.api.routes import deployment_prices as deployment_price_routes
from myia.api.routes import deployments as deployment_routes
from myia.api.routes import gateway as gateway_routes
from myia.api.routes import metrics as metrics_routes
from myia.api.routes import models as model_routes
from myia.api.routes import providers as provider_routes
from myia.api.routes import user_settings as user_settings_routes

ROUTERS: list[APIRouter] = [health.router, auth.router, credentials.router]
ROUTERS += [model_routes.router, deployment_routes.router, provider_routes.router]
ROUTERS += [deployment_price_routes.router]  # prices with a source (issue 27)
ROUTERS += [certification_queue_routes.router]
ROUTERS += [user_settings_routes.router]
ROUTERS += [api_key_routes.router, gateway_routes.router]
ROUTERS += [chat_routes.router]  # chats (issue 15)
ROUTERS += [metrics_routes.router, metrics_routes.prometheus_router]
