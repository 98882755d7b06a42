from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from myia.api.deps import CurrentUser, SessionDep, SettingsDep, StateDep
from myia.auth import service
from myia.auth.login import login_with_password
from myia.auth.schemas import LoginRequest, TokenPublic, UserCreate, UserPublic
from myia.auth.sessions import revoke_sessions
from myia.auth.tokens import create_access_token
from myia.errors import PermissionDeniedError
from myia.observability.logging import get_logger

router = APIRouter(prefix="/api/auth", tags=["auth"])
log = get_logger(__name__)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create a user account",
    responses={403: {"description": "Registration is closed (REGISTRATION_ENABLED)"}},
)
async def register(body: UserCreate, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Open in demo/dev/test; in production only with REGISTRATION_ENABLED=true."""
    if not settings.registration_open:
        raise PermissionDeniedError(
            "registration is closed: an admin creates accounts (REGISTRATION_ENABLED)"
        )
    user = await service.create_user(
        session=session, email=body.email, password=body.password, name=body.name
    )
    log.info("user registered", registered_user_id=user.id)
    return UserPublic.model_validate(user)


@router.post(
    "/login",
    summary="Exchange email and password for a bearer token",
    responses={
        401: {"description": "Incorrect email or password (or a disabled account)"},
        429: {"description": "Too many failed logins: try again after Retry-After seconds"},
    },
)
async def login(
    body: LoginRequest, request: Request, session: SessionDep, state: StateDep
) -> TokenPublic:
    """Failed logins slow down per (account, address) and are capped per address, as on the
    web form (auth/throttle.py: LOGIN_MAX_FAILURES, LOGIN_MAX_DELAY_S,
    LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_LOCKOUT_S): while throttled, 429 with Retry-After."""
    settings = state.settings
    user = await login_with_password(
        session=session,
        throttle=state.login_throttle,
        email=body.email,
        password=body.password,
        address=request.client.host if request.client else None,
    )
    token = create_access_token(
        user_id=user.id,
        role=user.role,
        secret=settings.jwt_secret,
        ttl_minutes=settings.jwt_ttl_minutes,
        session_version=user.session_version,
    )
    return TokenPublic(access_token=token, user=UserPublic.model_validate(user))


@router.get("/me", summary="The authenticated user")
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the authenticated user",
    responses={401: {"description": "Not authenticated, or the session has already ended"}},
)
async def logout(user: CurrentUser, session: SessionDep, state: StateDep) -> Response:
    """Every bearer token and web session of the user stops working, in every process that
    shares REDIS_URL before this answers (within 5 s without Redis). Log in again for a new
    token."""
    await revoke_sessions(session=session, cache=state.catalog_cache, user_id=user.id)
    log.info("api logout", signed_out_user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
