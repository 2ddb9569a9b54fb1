# Leaderbot server image: `docker build -t leaderbot .` then
# `docker run -p 3978:3978 --env-file .env -v leaderbot-data:/data leaderbot`.

# --- builder: resolve and install into a self-contained virtualenv (pinned by constraints.txt)
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY cadence ./cadence
COPY storage ./storage
RUN pip install -c constraints.txt .

# --- runtime: the venv only, no compilers, no sources outside site-packages, not root
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/leaderbot.db \
    PORT=3978
RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home leaderbot
COPY --from=builder /opt/venv /opt/venv
USER leaderbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3978'), timeout=4)" || exit 1
ENTRYPOINT ["leaderbot"]
CMD ["serve", "--host", "0.0.0.0"]
