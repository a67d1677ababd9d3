#!/usr/bin/env bash
# The real servers behind the test cluster's `kubectl exec`: KWOK runs an exec'd command on this
# host (see the ClusterExec in kwok.yaml), so `psql` in postgres-0 reaches a real PostgreSQL with
# the real pgvector extension, and `redis-cli` in redis-0 a real Redis.
#   backing.sh ensure        installs what is missing: Debian's postgresql, redis-server and the
#                            server headers (as root, with apt), and pgvector built from its source
#                            (fetched through the Go module proxy, cached beside the cluster binaries)
#   backing.sh start STATE   starts both for the cluster in STATE (up.sh does), as mathison/mathison
#   backing.sh start-redis STATE   starts Redis again after a test stopped it
#   backing.sh stop-postgres STATE / start-postgres STATE   what a test uses to stop and restart PostgreSQL
# Beside them, `start` runs the "managed" services an install can be given instead of its own
# (--postgres-url, --redis-url), as a cloud's would be: a second PostgreSQL on TCP only, TLS with a
# certificate of a test CA, scram-sha-256 passwords, pgvector available; a second Redis on TLS
# only with a password. Their addresses, passwords and CA are in STATE/backing/external.env.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
PGVECTOR_VERSION=v0.8.1
PG_MAJOR=15

pg_bin() { echo "/usr/lib/postgresql/$PG_MAJOR/bin"; }
have_all() {
  [ -x "$(pg_bin)/postgres" ] && command -v psql >/dev/null && command -v redis-server >/dev/null \
    && [ -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ]
}

ensure() {
  have_all && { echo "backing servers: PostgreSQL $PG_MAJOR with pgvector, Redis: installed"; return 0; }
  local pkgs=()
  [ -x "$(pg_bin)/postgres" ] || pkgs+=("postgresql-$PG_MAJOR")
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  [ -d "/usr/include/postgresql/$PG_MAJOR/server" ] || pkgs+=("postgresql-server-dev-$PG_MAJOR")
  if [ ${#pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "backing servers: missing ${pkgs[*]} (install them, as root, with apt)" >&2; exit 3; }
    echo "== installing ${pkgs[*]} (Debian packages) for the exec checks"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
  if [ ! -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ]; then
    local src="$CLUSTER_CACHE_ROOT/pgvector-$PGVECTOR_VERSION-pg$PG_MAJOR"
    if [ ! -f "$src/vector.so" ]; then
      echo "== building pgvector $PGVECTOR_VERSION from source (Go module proxy)"
      local dir
      dir="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/pgvector/pgvector@$PGVECTOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
      rm -rf "$src" && mkdir -p "$(dirname "$src")" && cp -r "$dir" "$src" && chmod -R u+w "$src"
      make -s -C "$src" OPTFLAGS="" >/dev/null
    fi
    make -s -C "$src" install >/dev/null
  fi
  have_all || { echo "backing servers: still missing after installing" >&2; exit 3; }
}

. "$here/ports.sh"

start_redis() { # STATE
  local dir="$1/backing"
  set -a; . "$dir/env"; set +a
  # Append-only, as the manifest runs it: a restored snapshot is the base of its append-only file.
  setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly yes --dir "$dir/redis" \
    >"$1/logs/redis.log" 2>&1 < /dev/null &
  echo "redis $!" >> "$1/pids"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "backing servers: Redis did not start; see $1/logs/redis.log" >&2; exit 1
}

start_postgres() { # STATE
  local dir
  dir=$(readlink -f "$1/backing")
  set -a; . "$dir/env"; set +a
  # As PostgreSQL's image does: the socket (what an exec'd psql uses) trusts, TCP (what web and
  # worker use) checks the password with scram-sha-256.
  setsid runuser -u postgres -- "$(pg_bin)/postgres" -D "$dir/pg" -k "$dir/run" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
    >>"$1/logs/postgres.log" 2>&1 < /dev/null &
  echo "postgres $!" >> "$1/pids"
  for _ in $(seq 1 100); do psql -U mathison -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "backing servers: PostgreSQL did not start; see $1/logs/postgres.log" >&2; exit 1
}

stop_postgres() { # STATE
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$(readlink -f "$1/backing")/pg" stop -m fast >/dev/null
}

start() { # STATE
  local state="$1" dir="$1/backing"
  have_all || { echo "backing servers: not installed (scripts/cluster/backing.sh ensure); exec checks will fail" >&2; return 0; }
  # PostgreSQL refuses to run as root: its files belong to the postgres user, who must reach them.
  # A state directory under a private home (root's is 0700) is not reachable: the backing files go
  # to a directory of their own under /tmp, linked from the state directory (down.sh removes both).
  chmod 755 "$state"
  if ! runuser -u postgres -- test -x "$state"; then
    dir=$(mktemp -d /tmp/mathison-backing-XXXXXX)
    chmod 755 "$dir"
    ln -sfn "$dir" "$state/backing"
  fi
  mkdir -p "$dir/pg" "$dir/run" "$dir/redis" "$dir/bin"
  chown postgres: "$dir/pg" "$dir/run"
  { echo "PGHOST=$dir/run"; echo "PGPORT=$(free_port)"; echo "REDIS_PORT=$(free_port)"; echo "REDIS_DIR=$dir/redis"; } > "$dir/env"
  set -a; . "$dir/env"; set +a
  # What runs an exec'd `redis-cli` reaches this Redis: the one in a pod talks to its own on 6379.
  printf '#!/bin/sh\nexec /usr/bin/redis-cli -p %s "$@"\n' "$REDIS_PORT" > "$dir/bin/redis-cli"
  chmod 755 "$dir/bin/redis-cli"
  runuser -u postgres -- "$(pg_bin)/initdb" -D "$dir/pg" -U mathison --auth-local=trust --auth-host=scram-sha-256 \
    >"$state/logs/initdb.log" 2>&1 \
    || { echo "backing servers: initdb failed: $(tail -n 1 "$state/logs/initdb.log")" >&2; exit 1; }
  start_postgres "$state"
  psql -U mathison -d postgres -qc 'CREATE DATABASE mathison' >/dev/null
  psql -U mathison -d mathison -qc 'CREATE EXTENSION vector' >/dev/null
  start_redis "$state"
  start_external "$state"
}

# A test CA and a certificate of it for 127.0.0.1 and localhost (what verify-full checks).
make_ca() { # DIR
  local d="$1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mathison-install test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/san.ext" -out "$d/server.crt" >/dev/null 2>&1
  chmod 600 "$d/server.key"
}

start_external() { # STATE
  local state="$1" dir
  dir=$(readlink -f "$state/backing")
  local ext="$dir/external"
  mkdir -p "$ext/pg" "$ext/run" "$ext/redis" "$ext/tls"
  make_ca "$ext/tls"
  chown -R postgres: "$ext/pg" "$ext/run" "$ext/tls"
  local pg_port redis_port app_pw limited_pw owner_pw redis_pw
  pg_port=$(free_port); redis_port=$(free_port)
  app_pw="ext-$(openssl rand -hex 12)"; limited_pw="lim-$(openssl rand -hex 12)"; owner_pw="own-$(openssl rand -hex 12)"; redis_pw="r/$(openssl rand -hex 8)@:"
  runuser -u postgres -- "$(pg_bin)/initdb" -D "$ext/pg" -U admin --auth-local=trust --auth-host=scram-sha-256 \
    >"$state/logs/initdb-external.log" 2>&1 || { echo "backing servers: initdb (external) failed" >&2; exit 1; }
  # TCP with TLS only: a connection without TLS, or from anywhere but here, is refused.
  printf 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n' > "$ext/pg/pg_hba.conf"
  setsid runuser -u postgres -- "$(pg_bin)/postgres" -D "$ext/pg" -k "$ext/run" -p "$pg_port" \
    -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file="$ext/tls/server.crt" -c ssl_key_file="$ext/tls/server.key" \
    >>"$state/logs/postgres-external.log" 2>&1 < /dev/null &
  echo "postgres-external $!" >> "$state/pids"
  local ok=""
  for _ in $(seq 1 100); do psql -h "$ext/run" -p "$pg_port" -U admin -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 && ok=1 && break; sleep 0.1; done
  [ -n "$ok" ] || { echo "backing servers: the external PostgreSQL did not start; see $state/logs/postgres-external.log" >&2; exit 1; }
  # app: owns its database and may create databases (a restore does), vector installed there by the
  # admin (as a managed service's console does);
  # limited: owns a database without vector and may not create it (vector is not a trusted extension);
  # owner: a superuser, as a managed service's admin user is, who may create it.
  psql -h "$ext/run" -p "$pg_port" -U admin -d postgres -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE app LOGIN CREATEDB PASSWORD '$app_pw';
CREATE DATABASE mathison_ext OWNER app;
CREATE ROLE limited LOGIN PASSWORD '$limited_pw';
CREATE DATABASE novector OWNER limited;
CREATE ROLE owner LOGIN SUPERUSER PASSWORD '$owner_pw';
\\c mathison_ext
CREATE EXTENSION vector;
SQL
  setsid redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$ext/redis" \
    --tls-cert-file "$ext/tls/server.crt" --tls-key-file "$ext/tls/server.key" --tls-ca-cert-file "$ext/tls/ca.crt" \
    --tls-auth-clients no --requirepass "$redis_pw" >"$state/logs/redis-external.log" 2>&1 < /dev/null &
  echo "redis-external $!" >> "$state/pids"
  ok=""
  for _ in $(seq 1 50); do
    REDISCLI_AUTH="$redis_pw" redis-cli -p "$redis_port" --tls --cacert "$ext/tls/ca.crt" ping 2>/dev/null | grep -q PONG && ok=1 && break
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "backing servers: the external Redis did not start; see $state/logs/redis-external.log" >&2; exit 1; }
  {
    echo "EXT_PGPORT=$pg_port"; echo "EXT_PGSOCKET=$ext/run"; echo "EXT_PG_APP_PASSWORD=$app_pw"
    echo "EXT_PG_LIMITED_PASSWORD=$limited_pw"; echo "EXT_PG_OWNER_PASSWORD=$owner_pw"; echo "EXT_REDIS_PORT=$redis_port"; echo "EXT_REDIS_PASSWORD='$redis_pw'"
    echo "EXT_CA=$ext/tls/ca.crt"
  } > "$dir/external.env"
}

case "${1:-}" in
  ensure) ensure ;;
  start) start "$2" ;;
  start-redis) start_redis "$2" ;;
  start-external) start_external "$2" ;;
  start-postgres) start_postgres "$2" ;;
  stop-postgres) stop_postgres "$2" ;;
  *) echo "usage: backing.sh ensure | start STATE | start-redis STATE | start-postgres STATE | stop-postgres STATE" >&2; exit 2 ;;
esac
