# leadscore in a container: Debian 12 with the Debian package that `make package` builds, so
# that the container runs exactly what an operator installs (nothing is compiled here).
#
#   make package && docker build -t leadscore .
#   LEADSCORE_ADMIN_KEY=lsk_... POSTGRES_PASSWORD=... docker compose up -d
#
# One container runs leadscore (on 127.0.0.1:8001 inside) and its front door (nginx on 8000,
# the published port), as leadscore.service and leadscore-front-door.service do on a host;
# packaging/docker-entrypoint.sh starts both and stops the container when either stops.
# Configuration: the environment (DATABASE_URL, LEADSCORE_ADMIN_KEY, ...) and the package's
# /etc/leadscore, which a volume or a bind mount may replace.
FROM debian:12-slim

# The package's dependencies (nginx, the runtime libraries) come from Debian with it; curl
# answers the health check.
COPY build/leadscore_*.deb /tmp/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      /tmp/leadscore_*.deb ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /tmp/leadscore_*.deb \
 && ln -sf /dev/stderr /var/lib/leadscore/front-door/error.log

COPY packaging/docker-entrypoint.sh /usr/local/bin/leadscore-entrypoint

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["/usr/local/bin/leadscore-entrypoint"]
