#!/usr/bin/env bash
# A real S3-compatible server for sluice's tests: Garage, single node, in a
# directory of its own.
#
#   scripts/garage.sh install            build garage once (cached), print its path
#   scripts/garage.sh start DIR [PID]    start a server with its state in DIR; the
#                                        first start also makes a layout, a bucket
#                                        and a key. Prints `export VAR=...` lines
#                                        (also in DIR/env): AWS_ENDPOINT,
#                                        AWS_REGION, AWS_ACCESS_KEY_ID,
#                                        AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP,
#                                        SLUICE_TEST_BUCKET. With PID, the server
#                                        is stopped when that process exits,
#                                        and DIR removed too if it holds a
#                                        file named remove-when-done.
#   scripts/garage.sh stop DIR           stop it (the state stays; start again
#                                        to restart on the same ports)
#
# The binary is cached under ${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}/garage
# and reused by every run on the machine; building it takes ~10 minutes.
set -euo pipefail

GARAGE_VERSION=2.5.0
TOOLS=${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}
GARAGE_ROOT=$TOOLS/garage
GARAGE=$GARAGE_ROOT/bin/garage

die() { echo "garage.sh: $*" >&2; exit 1; }

install_garage() {
    if [[ -x $GARAGE ]] && "$GARAGE" --version 2>/dev/null | grep -qF "$GARAGE_VERSION"; then
        return
    fi
    echo "==> building garage $GARAGE_VERSION into $GARAGE_ROOT (once per machine)" >&2
    cargo install --locked garage --version "$GARAGE_VERSION" \
        --no-default-features --features bundled-libs,sqlite \
        --root "$GARAGE_ROOT" >&2 || die "cargo install garage $GARAGE_VERSION failed"
}

port_free() { ! (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if port_free "$p" && [[ " ${TAKEN:-} " != *" $p "* ]]; then
            TAKEN="${TAKEN:-} $p"
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

running() { [[ -f $1/pid ]] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

g() { "$GARAGE" -c "$DIR/garage.toml" "$@"; }

start() {
    DIR=$(mkdir -p "$1" && cd "$1" && pwd)
    local watch=${2:-}
    install_garage
    if [[ ! -f $DIR/garage.toml ]]; then
        local rpc s3 secret
        rpc=$(free_port)
        s3=$(free_port)
        secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
        mkdir -p "$DIR/meta" "$DIR/data"
        cat >"$DIR/garage.toml" <<TOML
metadata_dir = "$DIR/meta"
data_dir = "$DIR/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
TOML
        echo "$s3" >"$DIR/s3_port"
    fi
    local s3
    s3=$(cat "$DIR/s3_port")
    if ! running "$DIR"; then
        nohup "$GARAGE" -c "$DIR/garage.toml" server >>"$DIR/garage.log" 2>&1 </dev/null &
        echo $! >"$DIR/pid"
    fi
    local ok=
    for _ in $(seq 150); do
        if g status >/dev/null 2>&1 && ! port_free "$s3"; then ok=1; break; fi
        running "$DIR" || break
        sleep 0.2
    done
    [[ -n $ok ]] || die "garage did not start; its log ($DIR/garage.log) ends with:
$(tail -n 20 "$DIR/garage.log" 2>/dev/null)"

    if [[ ! -f $DIR/env ]]; then
        local node key_out key_id secret_key
        node=$(g node id -q 2>/dev/null | cut -d@ -f1)
        [[ -n $node ]] || die "cannot read the node id"
        g layout assign -z dc1 -c 1G "$node" >/dev/null
        g layout apply --version 1 >/dev/null
        g bucket create sluice >/dev/null
        key_out=$(g key create sluice-test)
        key_id=$(sed -n 's/^Key ID:[[:space:]]*//p' <<<"$key_out" | head -n1)
        secret_key=$(sed -n 's/^Secret key:[[:space:]]*//p' <<<"$key_out" | head -n1)
        [[ -n $key_id && -n $secret_key ]] || die "cannot read the new key from: $key_out"
        g bucket allow --read --write sluice --key sluice-test >/dev/null
        cat >"$DIR/env.partial" <<ENV
export AWS_ENDPOINT=http://127.0.0.1:$s3
export AWS_REGION=garage
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_ALLOW_HTTP=true
export SLUICE_TEST_BUCKET=sluice
ENV
        mv "$DIR/env.partial" "$DIR/env"
    fi
    if [[ -n $watch ]]; then
        # Stop the server when the process that asked for it is gone.
        (
            while kill -0 "$watch" 2>/dev/null && running "$DIR"; do sleep 1; done
            stop "$DIR"
            # A test's temporary state goes with the test process.
            if [[ -f $DIR/remove-when-done ]] && ! kill -0 "$watch" 2>/dev/null; then
                rm -rf "$DIR"
            fi
        ) </dev/null >/dev/null 2>&1 &
    fi
    cat "$DIR/env"
}

stop() {
    local dir=$1
    [[ -f $dir/pid ]] || return 0
    local pid
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
}

case ${1:-} in
    install) install_garage; echo "$GARAGE" ;;
    start) [[ -n ${2:-} ]] || die "usage: garage.sh start DIR [PID]"; start "$2" "${3:-}" ;;
    stop) [[ -n ${2:-} ]] || die "usage: garage.sh stop DIR"; stop "$2" ;;
    *) die "usage: garage.sh install | start DIR [PID] | stop DIR" ;;
esac
