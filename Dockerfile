# FocusLoop image: one image for the web process (gunicorn), the Celery worker and beat.
# Configuration comes only from the environment at run time (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FOCUSLOOP_VAR_DIR=/app/var

WORKDIR /app

RUN groupadd --system focusloop \
 && useradd --system --gid focusloop --home-dir /app --no-create-home focusloop

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt requirements-embeddings.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-embeddings.txt

COPY . .

# Static files are collected once, into the image. The settings need a SECRET_KEY and
# DEBUG=0 (hashed, compressed files for WhiteNoise) for this step only: both are set on
# this command, not in the image, and the scratch var/ directory it creates is removed.
RUN SECRET_KEY=collectstatic-only DEBUG=0 FOCUSLOOP_VAR_DIR=/tmp/build-var \
        python manage.py collectstatic --noinput --verbosity 0 \
 && rm -rf /tmp/build-var \
 && mkdir -p /app/var \
 && chown focusloop:focusloop /app/var

# var/ holds beat's schedule file and the demo logins; it is the only writable path.
USER focusloop

EXPOSE 8000

# Worker processes: WEB_CONCURRENCY (gunicorn reads it; default 1). Behind a TLS proxy
# set BEHIND_TLS_PROXY=1 so Django trusts X-Forwarded-Proto.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
