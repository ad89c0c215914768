# Shared by run.sh and test.sh: installs the Debian packages DaprLlm needs when they are missing.
# Sourced, not executed.

install_prerequisites() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${1:-}" = "--tests" ]; then
    # The review UI tests drive Debian's chromium with Playwright (never a downloaded browser);
    # DAPRLLM_CHROMIUM names another installed Chromium-based browser instead.
    [ -x "${DAPRLLM_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
    # The audit tests start throwaway PostgreSQL clusters (initdb/pg_ctl from Debian's postgresql).
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  fi
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi

  echo "Installing missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # The AppHost and the tests start their own redis-server on free ports; the distribution's service is not needed.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    $sudo systemctl stop redis-server || true
  fi
}
