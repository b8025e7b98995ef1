#!/usr/bin/env bash
# The front door's configurations pass `nginx -t`: the production one in deploy/nginx.conf
# (with a throwaway certificate in place of the real one, on loopback ports) and the one
# `leadscore front-door` writes for `make run`.
set -euo pipefail
source_dir=$1 leadscore=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=leadscore.test 2>/dev/null
sed -e "s|/etc/ssl/certs/leadscore.example.com.pem|$work/cert.pem|" \
    -e "s|/etc/ssl/private/leadscore.example.com.key|$work/key.pem|" \
    -e "s|listen 80;|listen 127.0.0.1:1;|" -e "s|listen \[::\]:80;||" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:2 ssl http2;|" -e "s|listen \[::\]:443 ssl http2;||" \
    "$source_dir/deploy/nginx.conf" > "$work/site.conf"
grep -q "proxy_ignore_client_abort on;" "$work/site.conf"
grep -q "proxy_set_header Connection \"\";" "$work/site.conf"
printf 'pid %s/pid;\nerror_log %s/error.log;\nevents {}\nhttp { include %s/site.conf; }\n' \
  "$work" "$work" "$work" > "$work/main.conf"
nginx -t -q -c "$work/main.conf" -p "$work"

mkdir -p "$work/door/tmp"
"$leadscore" --config "$source_dir/config/leadscore.yaml" front-door --listen 127.0.0.1:3 \
  --upstream 127.0.0.1:4 --dir "$work/door" > "$work/door/nginx.conf"
grep -q "client_max_body_size 16777216;" "$work/door/nginx.conf"
nginx -t -q -c "$work/door/nginx.conf" -p "$work/door"
echo "deploy/nginx.conf and the generated front door pass nginx -t"
