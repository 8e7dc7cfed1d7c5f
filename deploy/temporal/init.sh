#!/bin/sh
# One-shot job of compose.yaml (temporalio/admin-tools), run once the server is healthy:
# create the namespace the worker polls and register the custom search attributes the
# workflows upsert. The temporalio/server image creates neither (auto-setup used to).
#
#   sh init.sh Name=Type [Name=Type ...]      e.g. sh init.sh ApprovalStatus=Keyword
#
# Environment: TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default),
# NAMESPACE_RETENTION (72h), ATTEMPTS (60 tries, 2 s apart, per step).
# Idempotent: an existing namespace or attribute is left as it is.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=72h}"
: "${ATTEMPTS:=60}"

say() { echo "temporal-init: $*"; }

if [ "$#" -eq 0 ]; then
  say "usage: init.sh Name=Type [Name=Type ...]" >&2
  exit 2
fi
for pair in "$@"; do
  case "$pair" in
    ?*=?*) ;;
    *) say "'$pair' is not Name=Type (e.g. ApprovalStatus=Keyword)." >&2; exit 2 ;;
  esac
done

# retry WHAT COMMAND...: run COMMAND until it succeeds, at most ATTEMPTS times.
retry() {
  what="$1"
  shift
  n=0
  until "$@"; do
    n=$((n + 1))
    if [ "$n" -ge "$ATTEMPTS" ]; then
      say "$what: still failing after $n tries; giving up." >&2
      return 1
    fi
    say "$what: not yet (try $n/$ATTEMPTS); retrying in 2 s."
    sleep 2
  done
}

t() { temporal --address "$TEMPORAL_ADDRESS" "$@"; }

has_attribute() { # NAME: registered in the namespace?
  t operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" | grep -qw -- "$1"
}

ensure_attribute() { # NAME TYPE
  has_attribute "$1" && return 0
  # A namespace created seconds ago may not be in every frontend cache yet: the caller retries.
  t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$1" --type "$2" &&
    has_attribute "$1"
}

retry "cluster health at $TEMPORAL_ADDRESS" t operator cluster health

if t operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  say "namespace $TEMPORAL_NAMESPACE exists."
else
  say "creating namespace $TEMPORAL_NAMESPACE (retention $NAMESPACE_RETENTION)."
  retry "namespace create" t operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "$NAMESPACE_RETENTION"
  retry "namespace describe" t operator namespace describe --namespace "$TEMPORAL_NAMESPACE" \
    >/dev/null
fi

for pair in "$@"; do
  name="${pair%%=*}"
  type="${pair#*=}"
  retry "search attribute $name ($type)" ensure_attribute "$name" "$type"
  say "search attribute $name ($type) registered."
done
say "done: namespace $TEMPORAL_NAMESPACE, $# search attribute(s)."
