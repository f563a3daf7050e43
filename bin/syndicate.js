#!/bin/sh
':' /*
# This file is a POSIX shell script and an ES module at once. Run as a program (the npm bin link:
# `syndicate …`), the shell part below starts node on this file; run as `node bin/syndicate.js …`,
# node reads the module and this part is a comment.
#
# It exists for one V8 flag that can only be given when node starts: `syndicate serve` gets a young
# generation of at most 2 × 4 MB (`--max-semi-space-size=4`; V8's default lets it grow to 2 × 16 MB).
# The gateway's garbage is short-lived per request, so this costs it no throughput, and it keeps the
# gateway's resident memory ~25 MB lower (bench/RESULTS.md). Other commands keep V8's default: a bulk
# read (`evidence verify`, `metrics`) runs faster with the larger young generation. The command is
# found as `namedCommand` in src/cli/program.ts finds it; NODE_OPTIONS naming the flag wins.
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
  case " ${NODE_OPTIONS-} " in
    *--max-semi-space-size*|*--max_semi_space_size*) ;;
    *) exec node --max-semi-space-size=4 "$0" "$@" ;;
  esac
fi
exec node "$0" "$@"
*/
import '../dist/cli/main.js';
