#!/bin/sh
# The library as a program outside the repository uses it: installs the build tree into a
# temporary prefix and checks what lands there, then builds examples/ as an outside CMake project
# against it (find_package(backprop), shared and static) and with pkg-config (shared and static),
# and runs examples/xor.cpp each way. Uses the build tree's artefacts (the library is not
# compiled again); CTest runs it (CMakeLists.txt, Install.*), after the build.
#
#   consume.sh BUILD_DIR SOURCE_DIR VERSION "INTERNAL_HEADERS" CXX [LAUNCHER]
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
VERSION=$3
INTERNAL=$(echo "$4" | tr ';' ' ')
CXX=$5
LAUNCHER=${6:-}

T=$(mktemp -d "$BUILD/install-test.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
P="$T/prefix"
fail() { echo "consume.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install $BUILD --prefix $P"
for t in libbackprop.a libbackprop.so backprop; do
  [ -e "$BUILD/$t" ] || fail "$BUILD/$t is missing: build the whole tree first (cmake --build $BUILD)"
done
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" || { cat "$T/install.log"; fail "cmake --install"; }

step "layout"
MAJOR_MINOR=$(echo "$VERSION" | cut -d. -f1,2)
for f in lib/libbackprop.a lib/libbackprop.so "lib/libbackprop.so.$MAJOR_MINOR" "lib/libbackprop.so.$VERSION" \
         bin/backprop include/backprop/util/version.hpp lib/pkgconfig/backprop.pc \
         lib/cmake/backprop/backpropConfig.cmake lib/cmake/backprop/backpropConfigVersion.cmake; do
  [ -e "$P/$f" ] || fail "$P/$f was not installed"
done
# Every header of the source tree is installed unchanged, except the internal ones.
n=0
for h in $(cd "$SRC/src/backprop" && find . -name '*.hpp' | sed 's|^\./||' | sort); do
  internal=no
  for i in $INTERNAL; do [ "$h" = "$i" ] && internal=yes; done
  if [ $internal = yes ]; then
    [ ! -e "$P/include/backprop/$h" ] || fail "internal header $h was installed"
  else
    cmp -s "$SRC/src/backprop/$h" "$P/include/backprop/$h" || fail "public header $h is missing or differs"
    n=$((n + 1))
  fi
done
installed=$(cd "$P/include" && find . -type f | wc -l)
[ "$installed" -eq $((n + 1)) ] || fail "$installed files under include/, expected $n public headers + version.hpp"
# A public header includes only public headers (every backprop include resolves in the prefix),
# the standard library (<name>, no '/' or '.h') and nlohmann/json: no dependency's header, so
# the shared library's other dependencies stay private.
for h in $(cd "$P/include" && find backprop -name '*.hpp'); do
  for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^">]*\)[">].*/\1/p' "$P/include/$h"); do
    case $inc in
      backprop/*) [ -e "$P/include/$inc" ] || fail "installed header $h includes $inc, which is not installed (internal?)" ;;
      nlohmann/*) ;;
      */* | *.h) fail "installed header $h includes <$inc>: public headers include only the standard library, nlohmann/json and backprop's public headers (docs/library.md)" ;;
      *) ;;
    esac
  done
done
grep -q "#define BACKPROP_VERSION_STRING \"$VERSION\"" "$P/include/backprop/util/version.hpp" || fail "version.hpp does not say $VERSION"
echo "$n public headers + util/version.hpp; internal ones left out: $INTERNAL"

step "the installed command"
out=$(env -u LD_LIBRARY_PATH "$P/bin/backprop" --version)
[ "$out" = "backprop $VERSION" ] || fail "bin/backprop --version printed '$out'"
"$P/bin/backprop" train --data "$SRC/data/Servo.csv" --target Class --hidden 4 --epochs 2 \
  -o "$T/servo.safetensors" >"$T/train.log" 2>&1 || { cat "$T/train.log"; fail "bin/backprop train"; }
# The model file records the library version (docs/model-files.md, backprop.library_version).
grep -a -q -E "\"backprop\\.library_version\": ?\"$(echo "$VERSION" | sed 's/\./\\./g')\"" "$T/servo.safetensors" \
  || fail "the model file does not record backprop.library_version $VERSION"

# xor's last lines, "a xor b -> p": all four inputs, each p within 0.1 of a xor b.
check_xor() {
  "$@" >"$T/xor.out" 2>&1 || { cat "$T/xor.out"; fail "$* failed"; }
  awk '$2 == "xor" && $4 == "->" { n++; want = ($1 != $3); if ((want && $5 > 0.9) || (!want && $5 < 0.1)) ok++ }
       END { exit !(n == 4 && ok == 4) }' "$T/xor.out" || { cat "$T/xor.out"; fail "$*: XOR not learned"; }
}
linked_lib() { ldd "$1" | sed -n 's/.*libbackprop\.so[^ ]* => \([^ ]*\).*/\1/p'; }

CMAKE_ARGS="-DCMAKE_PREFIX_PATH=$P -DCMAKE_CXX_COMPILER=$CXX -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"
[ -n "$LAUNCHER" ] && CMAKE_ARGS="$CMAKE_ARGS -DCMAKE_CXX_COMPILER_LAUNCHER=$LAUNCHER"

step "examples/ as an outside CMake project: find_package(backprop CONFIG REQUIRED), shared"
# shellcheck disable=SC2086
cmake -S "$SRC/examples" -B "$T/ex" $CMAKE_ARGS >"$T/ex.log" 2>&1 || { cat "$T/ex.log"; fail "configure examples/"; }
grep -q "^backprop_DIR:PATH=$P/lib/cmake/backprop\$" "$T/ex/CMakeCache.txt" || fail "examples/ found another backprop: $(grep ^backprop_DIR "$T/ex/CMakeCache.txt")"
cmake --build "$T/ex" -j 2 >>"$T/ex.log" 2>&1 || { cat "$T/ex.log"; fail "build examples/"; }
[ "$(linked_lib "$T/ex/xor")" = "$P/lib/libbackprop.so.$MAJOR_MINOR" ] || fail "xor is not linked to the installed libbackprop.so: $(ldd "$T/ex/xor" | grep backprop)"
check_xor "$T/ex/xor"

step "the same, static (COMPONENTS static)"
# shellcheck disable=SC2086
cmake -S "$SRC/examples" -B "$T/ex-static" $CMAKE_ARGS -DBACKPROP_EXAMPLES_STATIC=ON >"$T/exs.log" 2>&1 \
  || { cat "$T/exs.log"; fail "configure examples/ static"; }
cmake --build "$T/ex-static" --target xor >>"$T/exs.log" 2>&1 || { cat "$T/exs.log"; fail "build examples/ static"; }
[ -z "$(linked_lib "$T/ex-static/xor")" ] || fail "the static xor loads libbackprop.so"
check_xor "$T/ex-static/xor"

step "pkg-config --cflags --libs backprop"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
[ "$(pkg-config --modversion backprop)" = "$VERSION" ] || fail "pkg-config --modversion backprop"
# shellcheck disable=SC2046
$LAUNCHER "$CXX" -std=c++20 -c "$SRC/examples/xor.cpp" $(pkg-config --cflags backprop) -o "$T/xor.o"
# shellcheck disable=SC2046
"$CXX" "$T/xor.o" $(pkg-config --libs backprop) -Wl,-rpath,"$P/lib" -o "$T/xor-pc"
[ "$(linked_lib "$T/xor-pc")" = "$P/lib/libbackprop.so.$MAJOR_MINOR" ] || fail "xor-pc is not linked to the installed libbackprop.so"
check_xor "$T/xor-pc"
# Static: the archive, then what `--static` adds (Requires.private, Libs.private).
# shellcheck disable=SC2046
"$CXX" "$T/xor.o" "$P/lib/libbackprop.a" $(pkg-config --static --libs backprop | sed 's/-lbackprop\b//') -o "$T/xor-pc-static"
[ -z "$(linked_lib "$T/xor-pc-static")" ] || fail "xor-pc-static loads libbackprop.so"
check_xor "$T/xor-pc-static"
echo "consume.sh: OK"
