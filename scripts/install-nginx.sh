#!/bin/sh
# Install Debian's nginx when it is missing (tests/ops runs `nginx -t` and a real
# nginx on loopback ports against docker/nginx.conf). Does not start the system
# service: the tests run their own nginx with their own config.
set -eu

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# The package's postinst starts nginx on port 80 through invoke-rc.d; a policy-rc.d
# that answers 101 ("action forbidden") stops that. Only ours is removed afterwards.
POLICY=/usr/sbin/policy-rc.d
OURS=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 0755 "$POLICY"
  OURS=1
fi
cleanup() { if [ -n "$OURS" ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

echo "installing Debian's nginx ..." >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
echo "nginx: $(/usr/sbin/nginx -v 2>&1)" >&2
