#!/bin/sh
# Makes sure the base images of deploy/Dockerfile (debian:12, debian:12-slim) are in podman's storage: pulled
# when a registry answers, else made here from Debian's packages with mmdebstrap (no registry reachable).
# Usage: scripts/base_images.sh [podman|docker]. The tar of the base system is cached in build/images/.
set -e
engine=${1:-podman}
cache=${BASE_IMAGE_CACHE:-build/images}
made=
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for tag in debian:12 debian:12-slim; do
    ref=docker.io/library/$tag
    if "$engine" image inspect "$ref" >/dev/null 2>&1; then
        continue
    fi
    if "$engine" pull -q "$ref" >/dev/null 2>&1; then
        echo "  PULL    $ref"
        continue
    fi
    if [ ! -s "$cache/bookworm-minbase.tar" ]; then
        command -v mmdebstrap >/dev/null || { echo "no registry for $ref and no mmdebstrap to make it" >&2; exit 1; }
        mkdir -p "$cache"
        echo "  DEBOOT  $cache/bookworm-minbase.tar (mmdebstrap --variant=minbase bookworm)"
        mmdebstrap --quiet --format=tar --variant=minbase bookworm "$cache/bookworm-minbase.tar.part"
        mv "$cache/bookworm-minbase.tar.part" "$cache/bookworm-minbase.tar"
    fi
    if [ "$tag" = debian:12-slim ] && [ -n "$made" ]; then
        "$engine" tag "$made" "$ref"   # the same minimal system serves as both
        continue
    fi
    echo "  IMPORT  $ref"
    out=$("$engine" import --change "ENV PATH=$path" --change 'CMD ["bash"]' "$cache/bookworm-minbase.tar" "$ref" 2>&1) \
        || { echo "$out" >&2; exit 1; }
    made=$ref
done
