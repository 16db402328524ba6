# syntax=docker/dockerfile:1
# The booking portal: a slim, non-root image serving with gunicorn on port 8000.

FROM python:3.12.8-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /venv
COPY requirements.txt .
RUN /venv/bin/pip install -r requirements.txt
COPY . .
# Static files are collected at build time; the throwaway key exists only for this step.
RUN SECRET_KEY=collectstatic-only DEBUG=0 FLG_SANDBOX=0 ENV_FILE=/nonexistent \
    /venv/bin/python manage.py collectstatic --noinput

FROM python:3.12.8-slim-bookworm
ENV PATH="/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=0 \
    ENV_FILE=/nonexistent/.env
RUN groupadd --system portal && useradd --system --gid portal --home-dir /app --no-create-home portal
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build --chown=portal:portal /app /app
USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "bookingportal.wsgi"]
