#!/usr/bin/env bash
# Build a stand-in for python:3.11-slim-bookworm where no container registry is reachable (this
# project's CI machines): Debian bookworm's minimal system with its Python 3.11, made with
# debootstrap and imported into podman. The Dockerfile builds on it unchanged.
#   deploy/container/standin-base.sh [IMAGE_NAME]
set -euo pipefail
name="${1:-localhost/python-standin:3.11-bookworm}"
if podman image exists "$name"; then
  echo "stand-in base $name exists"
  exit 0
fi
root="$(mktemp -d "${TMPDIR:-/tmp}/standin-root.XXXXXX")"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
# Official Python images keep no apt lists; neither does the stand-in.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
tar -C "$root" -c . | podman import --change 'CMD ["python3"]' - "$name" >/dev/null
echo "stand-in base $name built"
