# Sourced by the timing campaigns: stop the background training job (SIGSTOP) for the timed work, and let it go
# on (SIGCONT) when the calling script exits, however it exits.
TRAIN=$(pgrep -f "ditto2 (distill|train)" | head -1 || true)
[ -n "$TRAIN" ] && kill -STOP "$TRAIN"
trap '[ -n "$TRAIN" ] && kill -CONT "$TRAIN"' EXIT
