# syntax=docker/dockerfile:1
# The booking portal: a slim, non-root image serving with gunicorn on port 8000.
# Configuration comes from the environment at run time (docs/deploy.md); none is baked in.

FROM python:3.12.8-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements.txt .
RUN /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files are collected (hashed and compressed) at build time. The settings refuse to
# load without a SECRET_KEY, so this one step gets a throwaway one, set for this command only:
# it is in no layer's environment and signs nothing the running portal uses.
RUN SECRET_KEY=collectstatic-only-not-a-secret DEBUG=0 FLG_SANDBOX=0 ENV_FILE=/nonexistent \
    /venv/bin/python manage.py collectstatic --noinput \
    && /venv/bin/python -m compileall -q bookingportal accounts appointments business flg flg_sandbox outbox precompiled privacy

FROM python:3.12.8-slim-bookworm
ENV PATH="/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=0 \
    ENV_FILE=/nonexistent/.env \
    PROMETHEUS_MULTIPROC_DIR=/run/metrics
# A numeric id, so an orchestrator can verify "not root" (Kubernetes' runAsNonRoot).
# /run/metrics: every gunicorn worker's figures for /metrics (prometheus-client's multiprocess
# mode), emptied by gunicorn.conf.py at start; Kubernetes mounts an emptyDir over it.
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home portal \
    && install -d -o 10001 -g 10001 -m 0700 /run/metrics
WORKDIR /app
COPY --from=build /venv /venv
# Owned by root and only readable by the portal: a compromised worker cannot rewrite the code.
COPY --from=build /app /app
USER 10001:10001
EXPOSE 8000
# No curl in the slim image, so Python asks; /healthz answers whatever ALLOWED_HOSTS lists.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# The Procfile's `web:`. The same image runs its `worker:` with the command
# `python manage.py run_worker` (docker-compose's `worker` service), checked by
# `python manage.py worker_health` rather than the HEALTHCHECK above.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "bookingportal.wsgi"]
