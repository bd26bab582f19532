#!/usr/bin/env bash
# The real peers the test suite talks to, as Debian packages: checked before every `npm test` and by
# `.ci/run`. Missing ones are installed with apt-get when this runs as root (or with sudo without a
# password); otherwise it stops before any test runs, naming every missing tool and the command that
# installs them. Add a line here when a test needs a new peer.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive

# path of a program the tests run → the Debian package that provides it
declare -A WANT=(
  [/usr/lib/postgresql/15/bin/initdb]=postgresql-15
  [/usr/lib/postgresql/15/bin/pg_verifybackup]=postgresql-15
  [/usr/lib/postgresql/15/bin/pg_dump]=postgresql-client-15
  [/usr/lib/postgresql/15/bin/pg_restore]=postgresql-client-15
  [/usr/bin/pg_isready]=postgresql-client-common
  [/usr/bin/pgbench]=postgresql-contrib-15
  [/usr/bin/redis-server]=redis-server
  [/usr/bin/redis-cli]=redis-tools
  [/usr/bin/zstd]=zstd
  [/usr/bin/lz4]=lz4
  [/usr/bin/promtool]=prometheus
  [/usr/bin/chromium]=chromium
  [/usr/bin/pgbackrest]=pgbackrest
  [/usr/bin/openssl]=openssl
  [/usr/bin/fallocate]=util-linux
  [/usr/sbin/runuser]=util-linux
  [/usr/bin/mount]=mount
  [/usr/bin/gzip]=gzip
  [/usr/sbin/knotd]=knot
  [/usr/sbin/nsd]=nsd
  [/usr/sbin/unbound]=unbound
  [/usr/bin/dig]=bind9-dnsutils
  [/usr/sbin/nft]=nftables
  [/usr/bin/ip]=iproute2
  [/usr/bin/git]=git
  [/usr/bin/docker-registry]=docker-registry
  [/usr/bin/skopeo]=skopeo
  [/usr/bin/apt-ftparchive]=apt-utils
  [/usr/bin/dpkg-deb]=dpkg
  [/usr/bin/python3]=python3
  [/usr/bin/pebble]=pebble
  [/usr/bin/pebble-challtestsrv]=pebble
  [/usr/sbin/xtables-nft-multi]=iptables
  [/usr/bin/pdftoppm]=poppler-utils
  [/usr/bin/pdftotext]=poppler-utils
)

missing_pkgs=()
missing_paths=()
for path in "${!WANT[@]}"; do
  if [ ! -x "$path" ]; then
    missing_paths+=("$path")
    missing_pkgs+=("${WANT[$path]}")
  fi
done
[ "${#missing_pkgs[@]}" -eq 0 ] && exit 0
mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else sudo_cmd=(none); fi
fi
if [ "${sudo_cmd[*]-}" != none ] && command -v apt-get >/dev/null; then
  echo "test peers: installing ${missing_pkgs[*]}" >&2
  # apt's lock may be held by another install for a moment: wait for it rather than fail.
  if "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null &&
    "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null; then
    exit 0
  fi
  echo "test peers: apt-get could not install them" >&2
fi
{
  echo "The tests need these programs, which are not installed:"
  printf '  %s\n' "${missing_paths[@]}"
  echo "Install them with:"
  echo "  sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
} >&2
exit 1
