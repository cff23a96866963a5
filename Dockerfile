# Fieldcast server image: `docker build -t fieldcast . && docker run --network host -v fieldcast:/data fieldcast`
# WebRTC media flows over UDP on ports aioice picks at random, so the container shares the host's
# network; behind 1:1 NAT also set FIELDCAST_ICE_PUBLIC_IPS='["<public ip>"]' (and FIELDCAST_ICE_SERVERS).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FIELDCAST_HOST=0.0.0.0 FIELDCAST_PORT=8080 \
    FIELDCAST_DATABASE_URL=sqlite:////data/fieldcast.db FIELDCAST_MEDIA_DIR=/data/media

# A CJK font and colour emoji for the overlays (the picture is Chinese first). PyAV, aiortc and OpenCV wheels carry
# their own FFmpeg/libvpx/opus, so no ffmpeg package is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 fieldcast && mkdir /data && chown fieldcast /data
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p server streams overlay && touch server/__init__.py streams/__init__.py overlay/__init__.py \
 && pip install . && pip uninstall -y fieldcast

COPY server ./server
COPY streams ./streams
COPY overlay ./overlay
COPY web ./web
RUN pip install --no-deps -e .

USER fieldcast
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
ENTRYPOINT ["fieldcast"]
CMD ["serve"]
