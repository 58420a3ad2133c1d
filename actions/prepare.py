"""`POST /relevo/prepare`: encode a customer's message while Rasa reads it.

The gateway sends each customer message to Rasa and, at the same moment, its text here. Rasa
spends several milliseconds on its NLU and policies before it calls `action_answer_from_kb`;
meanwhile this server, idle, encodes the text (the embedding is most of a search's cost), and the
turn's search finds the vector ready (`KnowledgeBase.prepare`). A message that never reaches the
knowledge base costs one wasted encoding. With several action servers behind one address, the
one that prepared may not be the one that answers: that turn encodes again, as without this.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from actions import runtime
from relevo.settings import MAX_PREPARE_CHARS, PREPARE_PATH


def add_prepare_route(app: Sanic) -> None:
    """Serve `POST /relevo/prepare` on the action server's app."""
    app.add_route(prepare, PREPARE_PATH, methods=["POST"])


async def prepare(request: Request) -> response.HTTPResponse:
    """Encode `{"text": ...}` for the coming turn: 204, or 400/413 with the reason."""
    try:
        body = request.json
    except Exception:  # Sanic's BadRequest for a body that is not JSON
        body = None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return response.json({"error": 'expected a JSON object {"text": "<message>"}'}, 400)
    if len(text) > MAX_PREPARE_CHARS:
        return response.json({"error": f"text over {MAX_PREPARE_CHARS} characters"}, 413)
    runtime.knowledge_base().prepare(text)
    return response.empty()
