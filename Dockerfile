# collabbot: a two-stage image. The build stage makes a virtualenv with collabbot and its
# dependencies; the runtime stage copies only that, adds the CJK fonts the charts draw with,
# and runs as an unprivileged user. Build: docker build -t collabbot .
# Run: see compose.yaml and docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY adapters ./adapters
COPY workflows ./workflows
COPY storage ./storage
COPY locales ./locales
RUN python -m venv /opt/collabbot \
    && /opt/collabbot/bin/pip install --upgrade pip setuptools wheel \
    && /opt/collabbot/bin/pip install . \
    && /opt/collabbot/bin/collabbot --help >/dev/null

FROM ${PYTHON_IMAGE} AS runtime
# fonts-noto-cjk: Chinese in the charts (workflows/reports); tini: signals reach the bot, zombies are reaped.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 collabbot \
    && useradd --system --uid 10001 --gid collabbot --home-dir /var/lib/collabbot --create-home --shell /usr/sbin/nologin collabbot \
    && mkdir -p /etc/collabbot \
    && chown collabbot:collabbot /var/lib/collabbot
COPY --from=build /opt/collabbot /opt/collabbot
COPY collabbot.example.toml /etc/collabbot/collabbot.example.toml
ENV PATH=/opt/collabbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    COLLABBOT_CONFIG=/etc/collabbot/collabbot.toml \
    COLLABBOT_LOG_FORMAT=json \
    COLLABBOT_SERVER__HOST=0.0.0.0
USER collabbot:collabbot
WORKDIR /var/lib/collabbot
VOLUME ["/var/lib/collabbot"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('COLLABBOT_SERVER__PORT', '8080'), timeout=4)"]
ENTRYPOINT ["tini", "--", "collabbot"]
CMD ["run"]
