# Helpers shared by the guest build scripts (sourced, not run).

# quiet LOG CMD...: runs CMD with its output appended to LOG (compilers are chatty);
# when CMD fails, shows the end of LOG and fails too.
quiet() {
    local log=$1
    shift
    if ! "$@" >> "$log" 2>&1; then
        echo "--- last lines of $log:" >&2
        tail -n 40 "$log" >&2
        echo "--- failed: $*" >&2
        return 1
    fi
}
