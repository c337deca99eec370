# Mailgate image: one image for both processes.
#   worker (default): node dist/src/worker.js
#   API:              node dist/src/api/server.js   (docker-compose.yml sets the command)
# Configuration comes from the environment only (see config/defaults.env for the names);
# docker-compose.yml passes it from an env file (deploy/compose.env.example, scripts/compose-env).
# The working directory /app holds dist/ and config/rules.json as the repository root does, so the
# relative MAILGATE_RULES_FILE=config/rules.json reads the same file in the image and on a host.
#
# Debian (glibc), not Alpine: @temporalio/core-bridge and @swc/core ship prebuilt glibc binaries.
# No BuildKit-only syntax, so the classic builder (docker-compose 1.x) builds it too.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, TypeScript -> dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled code only -------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The code stays root-owned, read-only for the service user; only .data/ is writable (the default
# location of the embedded sqlite: ticket store, unused when DATABASE_URL is postgres://).
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && mkdir -p /app/.data \
    && chown node:node /app/.data
COPY --from=build /app/dist ./dist
# The default email rules (routing, loop breakers, priority); mount your own over it.
COPY config/rules.json ./config/rules.json

# The node image's unprivileged user "node", by number so that runtimes can verify it is not root.
USER 1000:1000

# node runs as PID 1 and gets SIGTERM itself: the worker and the API shut down gracefully on it.
# docker-compose.yml adds `init: true`, an init process that also reaps zombies.
CMD ["node", "dist/src/worker.js"]
