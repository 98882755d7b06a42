"""`/chat`: chats, the model picker and the streamed answer.

The chat service belongs to the chat/gateway work; until it is in the tree the page says
"not available yet" rather than showing a chat that cannot answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from myia.api.deps import SettingsDep
from myia.web.deps import SignedIn
from myia.web.templating import render

router = APIRouter()


@router.get("/chat")
async def chat_page(request: Request, viewer: SignedIn, settings: SettingsDep) -> Response:
    return render(request, settings, "chat_unavailable.html", viewer)
