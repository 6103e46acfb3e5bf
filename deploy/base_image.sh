#!/usr/bin/env bash
# Build the CI base image localhost/debian:bookworm without any container registry: debootstrap a minimal
# Debian bookworm (with Debian's python3.11 and venv) from the Debian mirror this machine's apt already uses,
# then import the root file system into podman. The rootfs tarball is cached and reused.
#   deploy/base_image.sh [IMAGE]        (default localhost/debian:bookworm; env MLGYM_COMPOSE_CACHE)
set -euo pipefail
IMAGE=${1:-localhost/debian:bookworm}
CACHE=${MLGYM_COMPOSE_CACHE:-/var/cache/mlgym-compose}
TARBALL=$CACHE/debian-bookworm-python3.11-rootfs.tar
PACKAGES=python3.11,python3-venv,ca-certificates

if podman image exists "$IMAGE"; then
  echo "base image: $IMAGE already present"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  # The mirror apt uses here (deb822 .sources or one-line .list), so no other host is named.
  MIRROR=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 || true)
  if [ -z "$MIRROR" ]; then
    MIRROR=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security \
             | awk '{print $2}' | head -n1 || true)
  fi
  [ -n "$MIRROR" ] || { echo "base image: no Debian mirror found in /etc/apt/sources.list(.d)" >&2; exit 1; }
  ROOTFS=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  # A failed debootstrap may leave /proc or /sys mounted inside the rootfs: unmount before removing it.
  trap 'for m in proc sys dev/pts dev; do umount -l "$ROOTFS/$m" 2>/dev/null || true; done; rm -rf "$ROOTFS"' EXIT
  echo "base image: debootstrap bookworm from $MIRROR"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Keep the image small: no apt lists, caches or docs.
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
         "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
  tar -C "$ROOTFS" -c . >"$TARBALL.tmp"
  mv "$TARBALL.tmp" "$TARBALL"
fi
podman import --change 'CMD ["/bin/bash"]' - "$IMAGE" <"$TARBALL" >/dev/null
echo "base image: imported $IMAGE from $TARBALL"
