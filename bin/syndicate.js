#!/bin/sh
':' /*
# This file is a POSIX shell script and an ES module at once. Run as a program (the npm bin link:
# `syndicate …`), the shell part below starts node on this file; run as `node bin/syndicate.js …`,
# node reads the module and this part is a comment.
#
# It exists for node options that can only be given when node starts, for `syndicate serve`: a
# young generation of at most 2 × 4 MB (`--max-semi-space-size=4`; V8's default lets it grow to
# 2 × 16 MB) and no more V8 helper threads than cores (`--v8-pool-size`, node's default 4). The
# gateway's garbage is short-lived per request, so neither costs it throughput, and together they
# keep its resident memory ~30 MB lower (bench/RESULTS.md). Other commands keep node's defaults: a
# bulk read (`evidence verify`, `metrics`) runs faster with the larger young generation. The command
# is found as `namedCommand` in src/cli/program.ts finds it; an option NODE_OPTIONS names wins.
command_word=
skip_value=
for argument do
  if [ -n "$skip_value" ]; then skip_value=; continue; fi
  case $argument in
    --json) ;;
    --home) skip_value=1 ;;
    -*) break ;;
    *) command_word=$argument; break ;;
  esac
done
if [ "$command_word" = serve ]; then
  set -- "$0" "$@"
  case " ${NODE_OPTIONS-} " in
    *--v8-pool-size*) ;;
    *)
      cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || cores=4
      case $cores in '' | *[!0-9]* | 0) cores=4 ;; esac
      [ "$cores" -le 4 ] || cores=4
      set -- "--v8-pool-size=$cores" "$@"
      ;;
  esac
  case " ${NODE_OPTIONS-} " in
    *--max-semi-space-size* | *--max_semi_space_size*) ;;
    *) set -- --max-semi-space-size=4 "$@" ;;
  esac
  exec node "$@"
fi
exec node "$0" "$@"
*/
import '../dist/cli/main.js';
