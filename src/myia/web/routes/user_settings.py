"""`/settings`: theme, default region, provider credentials (masked, with Validate) and API
keys for the gateway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from myia.api.credential_writes import count_credential_write
from myia.api.deps import CacheDep, SessionDep, SettingsDep, StateDep
from myia.apikeys import service as api_keys
from myia.apikeys.schemas import ApiKeyCreate
from myia.auth.rate_limit import RateLimitedError
from myia.catalog.filters import MAX_PAGE_SIZE, ProviderFilters
from myia.catalog.providers import list_providers
from myia.credentials import service as credentials
from myia.credentials.checks import NoStoredCredentialError, check_own_credential
from myia.credentials.schemas import CredentialInput
from myia.errors import MyIAError, NotFoundError
from myia.users.settings import (
    UserSettingsUpdate,
    enabled_models,
    update_user_settings,
)
from myia.web import api_keys_view
from myia.web.chat_view import model_choices
from myia.web.deps import CheckedForm, SignedIn, field
from myia.web.forms import non_empty, service_errors, validation_errors
from myia.web.preferences import THEMES
from myia.web.templating import Viewer, render

router = APIRouter()
CREDENTIAL_FIELDS = ("access_key_id", "secret_access_key", "session_token", "region", "api_key")


async def _page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    assert viewer.user is not None
    stored = await credentials.list_credentials(
        session=session, user_id=viewer.user.id, secret=settings.encryption_secret
    )
    providers = await list_providers(
        session=session, cache=cache, filters=ProviderFilters(active=True, page_size=MAX_PAGE_SIZE)
    )
    context: dict[str, Any] = {
        "themes": THEMES,
        "regions": settings.default_regions,
        "credentials": {c.provider_slug: c for c in stored},
        "providers": providers.items,
        "errors": {},
        "cred_errors": {},
        "message": None,
        "api_keys": await api_keys_view.list_keys(session=session, user_id=viewer.user.id),
        "new_key": None,
        "model_choices": await model_choices(cache=cache, database=request.app.state.myia.database),
        "enabled": await enabled_models(session=session, user_id=viewer.user.id),
        "model_errors": {},
    }
    context.update(extra)
    return render(request, settings, "settings.html", viewer, status_code=status_code, **context)


@router.get("/settings")
async def settings_page(
    request: Request,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    saved: str = "",
) -> Response:
    message = {
        "models": "Models saved.",
        "prefs": "Preferences saved.",
        "cred": "Credential saved.",
        "del": "Deleted.",
    }
    return await _page(request, viewer, session, cache, settings, message=message.get(saved))


@router.post("/settings/preferences")
async def save_preferences(
    request: Request,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    assert viewer.user is not None
    try:
        data = UserSettingsUpdate.model_validate(
            {"theme": field(form, "theme"), "default_region": field(form, "default_region") or None}
        )
        await update_user_settings(session=session, cache=cache, user_id=viewer.user.id, data=data)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except MyIAError as exc:
        errors = service_errors(exc)
    else:
        return RedirectResponse("/settings?saved=prefs", status_code=303)
    return await _page(request, viewer, session, cache, settings, status_code=422, errors=errors)


@router.post("/settings/models")
async def save_enabled_models(
    request: Request,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    """The models checked become the user's enabled_models; every model checked is stored
    as the empty list (every model, including ones added later)."""
    assert viewer.user is not None
    checked = [v for v in form.getlist("enabled") if isinstance(v, str)]
    offered = {c.id for c in await model_choices(cache=cache, database=state.database)}
    errors: dict[str, str] = {}
    if not checked:
        errors = {"enabled_models": "Check at least one model (all checked: every model)."}
    else:
        wanted = [] if offered <= set(checked) else checked
        try:
            data = UserSettingsUpdate(enabled_models=wanted)
            await update_user_settings(
                session=session, cache=cache, user_id=viewer.user.id, data=data
            )
        except ValidationError as exc:
            errors = validation_errors(exc)
        except MyIAError as exc:
            errors = service_errors(exc)
        else:
            return RedirectResponse("/settings?saved=models", status_code=303)
    return await _page(
        request, viewer, session, cache, settings, status_code=422, model_errors=errors
    )


async def _write_refused(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    provider: str,
) -> Response | None:
    """The settings page with a 429 when this user is past the credential-write limit (the
    same limit as the API's PUT and DELETE), else None."""
    assert viewer.user is not None
    try:
        await count_credential_write(request, viewer.user.id)
    except RateLimitedError as exc:
        page = await _page(
            request,
            viewer,
            session,
            cache,
            settings,
            status_code=429,
            cred_errors={"form": str(exc)[:1].upper() + str(exc)[1:] + "."},
            cred_provider=provider,
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    return None


@router.post("/settings/credentials")
async def save_credential(
    request: Request,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    assert viewer.user is not None
    errors: dict[str, str] = {}
    provider = field(form, "provider")
    refused = await _write_refused(request, viewer, session, cache, settings, provider)
    if refused is not None:
        return refused
    if not provider:
        errors["provider"] = "Choose a provider."
    else:
        try:
            data = CredentialInput.model_validate(non_empty(form, *CREDENTIAL_FIELDS))
            await credentials.upsert_credential(
                session=session,
                user_id=viewer.user.id,
                provider_slug=provider,
                data=data,
                secret=settings.encryption_secret,
            )
        except ValidationError as exc:
            errors = validation_errors(exc)
        except MyIAError as exc:
            errors = service_errors(exc)
    if errors:
        return await _page(
            request,
            viewer,
            session,
            cache,
            settings,
            status_code=422,
            cred_errors=errors,
            cred_provider=provider,
        )
    return RedirectResponse("/settings?saved=cred", status_code=303)


@router.post("/settings/credentials/{provider_slug}/delete")
async def delete_credential(
    request: Request,
    provider_slug: str,
    _form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    assert viewer.user is not None
    refused = await _write_refused(request, viewer, session, cache, settings, provider_slug)
    if refused is not None:
        return refused
    await credentials.delete_credential(
        session=session, user_id=viewer.user.id, provider_slug=provider_slug
    )
    return RedirectResponse("/settings?saved=del", status_code=303)


@router.post("/settings/credentials/{provider_slug}/validate")
async def validate_credential(
    request: Request,
    provider_slug: str,
    _form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Checks the viewer's stored credential against the provider and returns the result as
    a fragment; the check is recorded on the stored credential. Without one, a non-admin gets
    a refusal and nothing is sent (the server's own keys are not theirs to probe); an admin
    checks the server's standard chain. An unknown provider is a 404 that lists nothing."""
    assert viewer.user is not None
    try:
        result = await check_own_credential(
            session=session,
            secret=settings.encryption_secret,
            provider_slug=provider_slug,
            user_id=viewer.user.id,
            is_admin=viewer.is_admin,
            timeout_s=15.0,
        )
    except NotFoundError:
        error = f"no provider '{provider_slug}'"
        return render(
            request, settings, "validation_result.html", viewer, status_code=404, error=error
        )
    except NoStoredCredentialError as exc:
        # 200: htmx swaps only 2xx answers into the page, and this one is for the user to read.
        error = exc.message
        return render(request, settings, "validation_result.html", viewer, error=error)
    except MyIAError as exc:
        return render(request, settings, "validation_result.html", viewer, result=None, error=exc)
    return render(request, settings, "validation_result.html", viewer, result=result, error=None)


@router.post("/settings/api-keys")
async def create_api_key(
    request: Request,
    form: CheckedForm,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    """The key is in this one answer and never again (MyIA keeps a hash)."""
    assert viewer.user is not None
    try:
        data = ApiKeyCreate(name=field(form, "key_name"))
        _row, key = await api_keys.create_api_key(
            session=session, user_id=viewer.user.id, name=data.name
        )
    except ValidationError as exc:
        errors = {"key_name": next(iter(validation_errors(exc).values()))}
    except MyIAError as exc:
        errors = {"key_name": next(iter(service_errors(exc).values()))}
    else:
        return await _page(request, viewer, session, cache, settings, new_key=key)
    return await _page(
        request, viewer, session, cache, settings, status_code=422, key_errors=errors
    )


@router.post("/settings/api-keys/{key_id}/revoke")
async def revoke_api_key(
    key_id: str, _form: CheckedForm, viewer: SignedIn, session: SessionDep, cache: CacheDep
) -> Response:
    assert viewer.user is not None
    await api_keys.revoke_api_key(
        session=session, cache=cache, key_id=key_id, user_id=viewer.user.id
    )
    return RedirectResponse("/settings?saved=del", status_code=303)
