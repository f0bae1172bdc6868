# fau web service: REST API, WebSocket live stream and live page (`fau serve`).
#   docker build -t fau .
#   docker run --rm -p 8000:8000 -v fau-data:/data fau
# See docs/deploy.md. Everything (models included) is inside the image; nothing is
# downloaded at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# MediaPipe's OpenCV (opencv-contrib-python) links libGL and GLib at import time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY fau ./fau
RUN pip install ".[serve]" && rm -rf /app/build

# Unprivileged user; jobs, uploads and the SQLite database live in the /data volume.
RUN useradd --system --uid 10001 --create-home --home-dir /home/fau fau \
    && mkdir -p /data && chown fau:fau /data
USER fau
WORKDIR /home/fau
ENV FAU_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/info' % os.environ.get('PORT', '8000'), timeout=4)"

# PORT is set by platforms such as Heroku or Cloud Run; 8000 otherwise.
CMD ["sh", "-c", "exec fau serve --host 0.0.0.0 --port \"${PORT:-8000}\""]
