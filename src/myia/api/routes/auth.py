from __future__ import annotations

from fastapi import APIRouter, status

from myia.api.deps import CurrentUser, SessionDep, SettingsDep
from myia.auth import service
from myia.auth.schemas import LoginRequest, TokenPublic, UserCreate, UserPublic
from myia.auth.tokens import create_access_token
from myia.observability.logging import get_logger

router = APIRouter(prefix="/api/auth", tags=["auth"])
log = get_logger(__name__)


@router.post("/register", status_code=status.HTTP_201_CREATED, summary="Create a user account")
async def register(body: UserCreate, session: SessionDep) -> UserPublic:
    user = await service.create_user(
        session=session, email=body.email, password=body.password, name=body.name
    )
    log.info("user registered", registered_user_id=user.id)
    return UserPublic.model_validate(user)


@router.post("/login", summary="Exchange email and password for a bearer token")
async def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    user = await service.authenticate(session=session, email=body.email, password=body.password)
    token = create_access_token(
        user_id=user.id,
        role=user.role,
        secret=settings.jwt_secret,
        ttl_minutes=settings.jwt_ttl_minutes,
    )
    return TokenPublic(access_token=token, user=UserPublic.model_validate(user))


@router.get("/me", summary="The authenticated user")
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
