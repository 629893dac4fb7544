#!/usr/bin/env bash
# Builds the TIS image WITHOUT pulling any base image: a root filesystem assembled from a
# `tis` binary and the few host files it needs at run time, handed to `podman import`.
# The equivalent of the Containerfile's runtime stage (distroless cc, user nonroot 65532,
# no shell, `tis` as the entrypoint), for machines that cannot pull images (this one, CI).
#
#   deploy/image/build.sh [--strip] BINARY [IMAGE]
#
# BINARY: the `tis` to ship (`cargo build --release -p tis` gives target/release/tis; CI
# passes its own debug build). --strip ships a stripped copy (the original is untouched).
# IMAGE: the tag, default localhost/tis:dev. Prints the image's size in bytes on the last
# line of stdout as `image-size-bytes N`.
#
# What goes in, and why:
#   /usr/local/bin/tis           the binary;
#   its shared libraries         exactly what `ldd` lists (glibc, libgcc_s, libm…), at the
#                                paths the dynamic loader looks them up by;
#   /etc/ssl/certs/ca-certificates.crt
#                                TLS to PostgreSQL (sslmode=require/verify-full), to Keycloak's
#                                discovery and JWKS;
#   /etc/passwd, /etc/group      root and nonroot (65532), no login shell;
#   /etc/nsswitch.conf           hosts: files dns (glibc's resolver for reqwest's lookups);
#   /var/lib/tis, /tmp           empty, owned by nonroot: mount points for writable volumes
#                                (the root filesystem runs read-only).
# No tzdata: every timestamp TIS writes is UTC (the time crate, no local zone lookup).
set -euo pipefail

strip=0
if [ "${1:-}" = "--strip" ]; then strip=1; shift; fi
bin=${1:?usage: build.sh [--strip] BINARY [IMAGE]}
image=${2:-localhost/tis:dev}
command -v podman >/dev/null || { echo "build.sh: podman is not installed (apt-get install podman)" >&2; exit 1; }
[ -x "$bin" ] || { echo "build.sh: $bin is not an executable" >&2; exit 1; }

root=$(mktemp -d /tmp/tis-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

install -d -m 0755 "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/var/lib" "$root/tmp"
install -m 0755 "$bin" "$root/usr/local/bin/tis"
if [ "$strip" = 1 ]; then strip "$root/usr/local/bin/tis"; fi

# The shared libraries, at the paths ldd resolves (the loader's own absolute path included).
ldd "$bin" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } $1 ~ /^\// { print $1 }' |
while read -r lib; do
    install -d "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# Debian's /lib, /lib64 are symlinks to /usr/lib…: keep the same layout so the loader path
# baked into the binary (/lib64/ld-linux-x86-64.so.2) resolves.
for l in lib lib64; do
    if [ -L "/$l" ] && [ -d "$root/$l" ] && [ ! -L "$root/$l" ]; then
        target=$(readlink "/$l")
        install -d "$root/$target"
        cp -a "$root/$l/." "$root/$target/"
        rm -rf "${root:?}/$l"
        ln -s "$target" "$root/$l"
    fi
done

ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "build.sh: $ca missing (apt-get install ca-certificates)" >&2; exit 1; }
cp -L "$ca" "$root/etc/ssl/certs/ca-certificates.crt"

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/var/lib/tis:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
echo 'hosts: files dns' > "$root/etc/nsswitch.conf"
install -d -m 0700 "$root/var/lib/tis"
chmod 1777 "$root/tmp"

# Owners: everything root's, but the data folder nonroot's (numeric, as in the image).
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$root.tar" --exclude=./var/lib/tis .
tar --numeric-owner --owner=65532 --group=65532 -C "$root" -rf "$root.tar" ./var/lib/tis
trap 'rm -rf "$root" "$root.tar"' EXIT

# The image this tag named before, removed once the tag moves (each build would leave one).
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
podman import \
    --change 'USER=65532:65532' \
    --change 'WORKDIR=/var/lib/tis' \
    --change 'ENV=TIS_LOG__FORMAT=json' \
    --change 'EXPOSE=8080' \
    --change 'ENTRYPOINT=["/usr/local/bin/tis"]' \
    --change 'CMD=["--help"]' \
    --message "tis from $(basename "$bin")" \
    "$root.tar" "$image" >/dev/null
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "built $image: $((size / 1024 / 1024)) MiB" >&2
echo "image-size-bytes $size"
