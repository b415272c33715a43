# Sourced by the scripts under bin/ and bench/ (not run on its own).
#
# relabel_build_if_stale ROOT [LOG]: runs `mvn -B -q -DskipTests package` at ROOT only when a product the scripts
# use (the relabel4j-core and relabel4j-cli jars, the labelpool-bench jar, their lib/ folders) is missing or older than a source file, so
# that a second run of a script, or a run inside `mvn verify` (which has just built everything), starts at once.
# Build output goes to LOG when given (its last lines are printed on failure), else to the terminal.
relabel_build_if_stale() {
  local root="$1" log="${2:-}" oldest="" p stale=""
  local products=("$root/java/cli/target/lib" "$root/bench/target/lib" "$root/bench/target/labelpool-bench.jar")
  shopt -s nullglob
  local jars=("$root"/java/cli/target/relabel4j-cli-*.jar "$root"/java/core/target/relabel4j-core-*.jar)
  shopt -u nullglob
  [ ${#jars[@]} -ge 2 ] || stale="the relabel4j-cli or relabel4j-core jar is missing"
  for p in "${products[@]}"; do
    [ -e "$p" ] || stale="${stale:-$p is missing}"
  done
  if [ -z "$stale" ]; then
    for p in "${jars[@]}" "$root/bench/target/labelpool-bench.jar"; do
      if [ -z "$oldest" ] || [ "$p" -ot "$oldest" ]; then oldest="$p"; fi
    done
    p="$(find "$root/java"/*/src "$root/java"/*/pom.xml "$root/bench/src" "$root/bench/pom.xml" "$root/native" \
              "$root/cuda" "$root/cmake" "$root/CMakeLists.txt" "$root/pom.xml" -newer "$oldest" -type f \
              2>/dev/null | head -1)"
    [ -z "$p" ] || stale="$p is newer than the build"
  fi
  [ -n "$stale" ] || return 0
  echo "building ($stale): mvn -B -q -DskipTests package" >&2
  if [ -n "$log" ]; then
    (cd "$root" && mvn -B -q -DskipTests package >"$log" 2>&1) || { tail -40 "$log" >&2; return 1; }
  else
    (cd "$root" && mvn -B -q -DskipTests package)
  fi
}
