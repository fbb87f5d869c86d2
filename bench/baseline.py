"""The baseline: the same stack (Flask under gunicorn sync workers) that only parses the JSON body
and answers a constant card list. The service is measured against it in the same run."""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

app = Flask(__name__)
_CARDS = orjson.dumps(
    {
        "cards": [
            {
                "summary": "Record consistent with milia",
                "indicator": "info",
                "source": {"label": "Milia guidance"},
            }
        ]
    }
)


@app.post("/cds-services/<service_id>")
def hook(service_id: str) -> Response:
    orjson.loads(request.get_data())
    return Response(_CARDS, mimetype="application/json")


@app.get("/readyz")
def ready() -> Response:
    return Response(b'{"status":"ready"}', mimetype="application/json")
