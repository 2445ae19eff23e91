# syntax=docker/dockerfile:1
# One image pattern for every reelbus service:
#   docker build --build-arg SERVICE=encoder -t reelbus/encoder .
# (docker-compose.yml builds each service this way). All services share every layer but the last
# few bytes, so seven images cost one image's disk and pull time.
#
# Services run their TypeScript through tsx (`node --import tsx services/<name>/src/main.ts`), the
# same command the local stack and the tests use: the workspaces export `src/*.ts` and import with
# `.ts` extensions, so there is no separate build output to ship or to drift from what was tested.
# tsx (with its one dependency, esbuild) is the only development package kept in the image.

ARG NODE_IMAGE=node:24-bookworm-slim

# Only the package manifests, with their paths, so the `npm ci` layers below are rebuilt when a
# package.json or the lockfile changes, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests \; \
 && cp package-lock.json /manifests/

# Every dependency (dev included): the source of tsx + esbuild for the runtime.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error

# The studio (services/ingest/studio), a static build ingest serves at `/`; every image carries its
# ~100 kB so the layers stay shared (STUDIO_ENABLED=false turns it off).
FROM deps AS studio
COPY tsconfig.base.json ./
COPY contracts/ ./contracts/
COPY services/ingest/studio/ ./services/ingest/studio/
RUN npm run build -w @reelbus/studio

# Production dependencies only, plus tsx from the full install.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY --from=deps /app/node_modules/tsx ./node_modules/tsx
COPY --from=deps /app/node_modules/esbuild ./node_modules/esbuild
COPY --from=deps /app/node_modules/@esbuild ./node_modules/@esbuild

FROM ${NODE_IMAGE} AS runtime
# ffmpeg/ffprobe from Debian (the version the tests run against), the caption font, nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=9090 \
    TMP_DIR=/tmp/reelbus \
    BLOB_DIR=/data/blobs
COPY --from=prod-deps /app/ ./
COPY tsconfig.base.json ./
COPY contracts/ ./contracts/
COPY services/ ./services/
COPY --from=studio /app/services/ingest/studio/dist/ ./services/ingest/studio/dist/
# The non-root user of the node image (uid 1000) owns only the scratch and data directories.
RUN mkdir -p /tmp/reelbus /data/blobs && chown -R node:node /tmp/reelbus /data

# The service this image runs. Everything above is identical for all services (shared layers).
# /app/main.ts is a symlink; Node resolves it, so the service's relative imports work as in the repo.
ARG SERVICE
RUN { test -n "$SERVICE" && test -f "services/$SERVICE/src/main.ts"; } \
 || { echo "build with --build-arg SERVICE=<a folder of services/ with src/main.ts>, got '$SERVICE'" >&2; exit 1; }; \
 ln -s "services/$SERVICE/src/main.ts" /app/main.ts
ENV REELBUS_SERVICE=${SERVICE}
LABEL org.opencontainers.image.title="reelbus-${SERVICE}"
USER node

EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HEALTH_PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself (graceful shutdown in the kit); use `init: true`
# (compose) or a pod's default so ffmpeg children are reaped if the process ever dies hard.
CMD ["node", "--import", "tsx", "/app/main.ts"]
