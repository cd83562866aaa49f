#!/usr/bin/env bash
# Make sure a Java runtime (17 or newer) is there for the Spark engine (PySpark 4 needs Java 17+).
# Idempotent: does nothing when `java -version` already reports 17+. Otherwise installs Debian's
# default-jre-headless (Java 17 on Debian 12), or openjdk-17-jre-headless where the default is
# older, with apt-get (as root, or through sudo when available). When JAVA_HOME is set it decides
# which Java runs, so the script only checks it (installing would not help). Exits non-zero with a
# message when it cannot, so callers can skip the Spark tests with the reason.
set -euo pipefail

java_major() {
  local exe="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  command -v "$exe" >/dev/null 2>&1 || { echo 0; return; }
  "$exe" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -1 |
    awk '{ if ($1 == 1) print $2; else print $1 }'
}

have=$(java_major)
if [ "${have:-0}" -ge 17 ]; then
  exit 0
fi
if [ -n "${JAVA_HOME:-}" ]; then
  # JAVA_HOME decides which Java Spark runs: installing Debian's would not change it
  if [ "${have:-0}" -eq 0 ]; then found="no bin/java"; else found="Java $have"; fi
  echo "java.sh: JAVA_HOME=$JAVA_HOME has $found; Spark needs Java 17+. Point JAVA_HOME to a Java 17+" \
       "installation, or unset it to use (and install) Debian's" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "java.sh: no Java 17+ found and no apt-get here; install a Java 17+ runtime and set JAVA_HOME" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "java.sh: installing Java needs root (apt-get install default-jre-headless)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "java.sh: installing Debian's Java runtime for Spark ..." >&2
$SUDO apt-get update -qq
# man pages are often excluded in slim images, but the JRE's postinst expects their folder
mkdir -p /usr/share/man/man1 2>/dev/null || true
if ! $SUDO apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
have=$(java_major)
if [ "${have:-0}" -lt 17 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
  have=$(java_major)
fi
if [ "${have:-0}" -lt 17 ]; then
  echo "java.sh: Java ${have:-none} after installing; Spark needs 17 or newer" >&2
  exit 1
fi
echo "java.sh: Java $have ready" >&2
