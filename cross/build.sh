#!/usr/bin/env bash
# Builds doorguard for a Raspberry Pi with plain cargo and Debian's cross gcc.
#   cross/build.sh [aarch64|armv7] [--debug]
# Installs what it needs first (rustup target, cross gcc, target libc headers for
# bindgen); idempotent and quiet. The binary lands in target/<triple>/<profile>/.
set -euo pipefail

arch="${1:-aarch64}"
profile=release
[ "${2:-}" = "--debug" ] && profile=debug

case "$arch" in
    aarch64) triple=aarch64-unknown-linux-gnu; gnu=aarch64-linux-gnu; deb=arm64 ;;
    armv7) triple=armv7-unknown-linux-gnueabihf; gnu=arm-linux-gnueabihf; deb=armhf ;;
    *) echo "cross/build.sh: unknown target '$arch' (aarch64 or armv7)" >&2; exit 2 ;;
esac

packages=("gcc-$gnu" "libc6-dev-$deb-cross" libclang-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$triple" || rustup target add "$triple" >/dev/null

upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
lower=$(echo "$triple" | tr '-' '_')
export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
export "CC_${lower}=$gnu-gcc"
export "AR_${lower}=$gnu-ar"
# bindgen (v4l's videodev2.h bindings) must read the target's headers, not the host's.
export "BINDGEN_EXTRA_CLANG_ARGS_${lower}=--sysroot=/usr/$gnu -I/usr/$gnu/include"
export PKG_CONFIG_ALLOW_CROSS=1

cd "$(dirname "$0")/.."
flags=(--locked --target "$triple")
[ "$profile" = release ] && flags+=(--release)
cargo build "${flags[@]}" --bin doorguard
echo "target/$triple/$profile/doorguard"
