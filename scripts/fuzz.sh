#!/bin/sh
# Builds the libFuzzer harnesses (fuzz/*.cpp) with clang in ./build-fuzz and runs each for
# SECONDS (default 60) on a seed corpus made from the repository's data sets (data/).
#   sh scripts/fuzz.sh [SECONDS] [HARNESS...]      e.g.  sh scripts/fuzz.sh 180 fuzz_csv
# Corpora grow in fuzz/corpus-<harness>/ (ignored by git); crashes are written to
# build-fuzz/artifacts/ and make the script fail. Needs clang and libclang-rt (Debian:
# clang-14 libclang-rt-14-dev); FUZZ_JOBS sets the build parallelism (default 2).
set -e
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
HARNESSES=${*:-"fuzz_csv fuzz_idx fuzz_preprocessor_json fuzz_model_file"}

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DBACKPROP_FUZZ=ON -DBACKPROP_TESTS=OFF -DBACKPROP_BENCH=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build build-fuzz -j "${FUZZ_JOBS:-2}" --target $HARNESSES

seed_csv() {
  c=fuzz/corpus-fuzz_csv
  mkdir -p "$c"
  # The heads of the repository's data sets (the large ones are gzip-compressed).
  for f in data/*.csv data/*.csv.gz; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .gz)
    gzip -dcf "$f" | head -n 12 >"$c/seed-$b"
  done
  printf 'a,"b ""q""",c\r\n1,"x,\ny",NA\r\n2,,"3"\r\n' >"$c/seed-quotes.csv"
  printf 'x,c,y\n1,A,p\n2,B,q\n,A,p\n4,NA,q\n' >"$c/seed-mixed.csv"
  printf 'x,y\n1.5,2\n-3e2,4\n5,6' >"$c/seed-regression.csv"
}

seed_idx() {
  c=fuzz/corpus-fuzz_idx
  mkdir -p "$c"
  printf '\000\000\010\002\000\000\000\002\000\000\000\003\000\001\002\003\004\005' >"$c/seed-u8.idx"
  gzip -c "$c/seed-u8.idx" >"$c/seed-u8.idx.gz"
  printf '\000\000\015\001\000\000\000\002\077\300\000\000\300\040\000\000' >"$c/seed-f32.idx"
  printf '\000\000\013\001\000\000\000\002\377\376\001\000' | gzip -c >"$c/seed-i16.idx.gz"
  fm=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
  [ -f "$fm" ] && cp "$fm" "$c/seed-fashion-labels.gz"
  true
}

seed_preprocessor_json() {
  c=fuzz/corpus-fuzz_preprocessor_json
  mkdir -p "$c"
  cat >"$c/seed-servo.json" <<'JSON'
{"format":"backprop.preprocessor","version":1,"target":"Class","task":"regression","standardize":true,
 "columns":[{"name":"Motor","kind":"categorical","categories":["A","B","C","D","E"]},
            {"name":"Pgain","kind":"numeric","impute":4.1,"center":4.1,"scale":1.0}],
 "ignored":["Id"],"target_values":[],"positive":[]}
JSON
  cat >"$c/seed-letter.json" <<'JSON'
{"format":"backprop.preprocessor","version":1,"target":"lettr","task":"binary","standardize":false,
 "columns":[{"name":"x.box","kind":"numeric","impute":4.0,"center":0.0,"scale":1.0}],
 "ignored":[],"target_values":["A","B","O"],"positive":["O"],"class_names":["negative","positive"]}
JSON
}

# Model files: the committed fixtures, each twice (first byte 0: checksums compared; 1: not).
seed_model_file() {
  c=fuzz/corpus-fuzz_model_file
  mkdir -p "$c"
  for f in tests/fixtures/io/*.safetensors; do
    { printf '\000'; cat "$f"; } >"$c/seed-verified-$(basename "$f")"
    { printf '\001'; cat "$f"; } >"$c/seed-unverified-$(basename "$f")"
  done
}

mkdir -p build-fuzz/artifacts
for h in $HARNESSES; do
  "seed_${h#fuzz_}"
  dict=""
  [ "$h" = fuzz_csv ] && dict="-dict=fuzz/csv.dict"
  [ "$h" = fuzz_model_file ] && dict="-dict=fuzz/model_file.dict"
  echo "== $h: ${SECONDS_EACH}s"
  # shellcheck disable=SC2086
  "./build-fuzz/$h" "fuzz/corpus-$h" $dict -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ 2>"build-fuzz/$h.log" ||
    { tail -n 60 "build-fuzz/$h.log"; echo "$h: FAILED (see build-fuzz/$h.log)"; exit 1; }
  grep -E "^#[0-9]+[[:space:]]" "build-fuzz/$h.log" | tail -n 1
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/$h.log"
  echo "$h: corpus $(ls "fuzz/corpus-$h" | wc -l) files"
done
