import { Command, Option } from 'commander';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { AtomicFile } from '../../common/atomic-file.js';
import { CheckFailedError, EvidencePrunedError, ExitCode, InterruptedError, UsageError } from '../../errors.js';
import type { EvidenceListRow, EvidenceRecord, EvidenceSummary, ExportedEnvelope, ExportFilter, ListEvidenceOptions, UnparsedValue, UnreadableBodies } from '../../evidence/index.js';
import type { PruneResult } from '../../evidence/retention.js';
import { isUnparsedValue } from '../../store/json-columns.js';
import { isRecord } from '../../wire/json.js';
import type { Store } from '../../store/store.js';
import { CALLABLE_PROVIDER_CLASSES, SENSITIVITY_LEVELS, type ProviderClass, type SensitivityLevel } from '../../common/vocabulary.js';
import { EVIDENCE_STATES, type EvidenceState } from '../../evidence/types.js';
import { contextFor } from '../context.js';
import { filePathOption, sensitivityOption, sessionFilterOption } from '../input.js';
import { cancellable } from '../interrupt.js';
import { ITEMS_BETWEEN_CHECKS, pausing, runPausing, type PausingWork } from '../../common/pausing.js';
import { counted, documentTextPausing, type Output, type Spinner } from '../output.js';
import { shellWord } from '../../common/shell-word.js';
import { becauseText } from '../../router/level-sources.js';
import type { LevelSource } from '../../router/types.js';

/** The filters `evidence list` and `evidence export` share. */
interface FilterOptions {
  since?: string;
  until?: string;
  provider?: string;
  state?: EvidenceState;
  session?: string;
  sensitivity?: SensitivityLevel[];
  class?: ProviderClass | 'hosted';
}

interface ListOptions extends FilterOptions {
  limit?: string;
}

interface ShowOptions {
  raw?: string;
}

interface ExportOptions extends FilterOptions {
  format: string;
  output?: string;
  from?: string;
}

export function evidenceCommand(): Command {
  const evidence = new Command('evidence')
    .description('inspect, export, verify and prune the hash-chained evidence of every invocation, probe and refusal')
    .addHelpText('after', '\nExample:\n  $ syndicate evidence list --since 1h\n  $ syndicate evidence verify');

  withFilterOptions(evidence.command('list').description('list evidence rows, newest first'), 'rows')
    .option('--limit <n>', 'at most this many rows', '50')
    .addHelpText(
      'after',
      '\nExample:\n  $ syndicate evidence list --since 1h --provider ollama --state failed --json\n  $ syndicate evidence list --session 6f1d2c3a-0b7e-4c1e-9a55-2f8e1b7c9d10\n  $ syndicate evidence list --sensitivity restricted --class hosted --state completed   # should list nothing',
    )
    .action(async (options: ListOptions, command: Command) => {
      const context = contextFor(command);
      const { countEvidence, evidenceSummaries, hasEvidenceOfProvider } = await import('../../evidence/index.js');
      const { filters, session } = await filtersOf(options);
      const limit = Number(options.limit);
      // A safe integer only: SQLite refuses a LIMIT bound as a float (`--limit 99999999999999999999`: exit 70).
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new UsageError(`invalid --limit "${options.limit ?? ''}"`, { hint: `use a whole number of rows, from 1 to ${Number.MAX_SAFE_INTEGER}` });
      }
      filters.limit = limit;
      const { output } = context;
      // A big --limit reads, and serialises for --json, for seconds: Ctrl-C or SIGTERM from the
      // store's opening on stops it within a few hundred rows (exit 130 / 143), with nothing printed
      // but the error — never part of the document, nor all of it after the signal.
      const { rows, total, truncated, document } = await cancellable(
        async (signal) => {
          const store = await context.store({ existing: true });
          await filterBySession(store, filters, session, output);
          const read: EvidenceListRow[] = [];
          for await (const row of pausing(evidenceSummaries(store, filters), signal)) read.push(row);
          if (read.length === 0 && filters.provider !== undefined && !hasEvidenceOfProvider(store, filters.provider)) {
            // Most likely a mistyped id: say so, as every command given an unknown provider does (a retired one is known).
            const { requireProvider } = await import('../../registry/registry.js');
            requireProvider(store, filters.provider);
          }
          // Only a full page can have been cut short: then one COUNT over the same filters says by how much.
          const matching = read.length === limit ? countEvidence(store, filters) : read.length;
          const listed = { rows: read, total: matching, truncated: matching > read.length };
          // A list cut short by --limit does not reach back to what a prune deleted.
          if (!listed.truncated) await warnOfPrunedWindow(store, filters.since, output);
          // Either form is made whole, a few hundred rows at a time, before any of it is printed.
          if (output.json) return { ...listed, document: await documentTextPausing({ evidence: read, total: matching, truncated: listed.truncated }, 'evidence', signal) };
          return { ...listed, document: read.length === 0 ? undefined : await runPausing(evidenceTable(output, read), signal) };
        },
        { otherWork: { name: '`evidence list`', hint: 'nothing was changed; run it again, or with a smaller --limit' } },
      );
      if (output.json && document !== undefined) output.documentText(document);
      else if (rows.length === 0) output.line('no evidence rows match');
      else {
        output.line(document);
        if (truncated) output.info(`showing the newest ${rows.length} of ${total} rows; use --limit ${total} to list them all`);
      }
      context.close();
    });

  evidence
    .command('show')
    .description('show one envelope; --raw writes the exact request or response bytes to stdout')
    .argument('<id>', 'evidence id (a unique prefix is enough; any case)')
    .addOption(new Option('--raw <part>', 'write only these exact bytes to stdout').choices(['request', 'response']))
    .addHelpText('after', '\nExample:\n  $ syndicate evidence show ev_01jb2k3m4n --raw response > response.sse')
    .action(async (id: string, options: ShowOptions, command: Command) => {
      const context = contextFor(command);
      // An empty prefix would match every id (an unset variable in a script: `evidence show "$ID"`).
      if (id.trim() === '') throw new UsageError('the evidence id is empty', { hint: 'give an id, or a unique prefix of one, from `syndicate evidence list`' });
      if (options.raw !== undefined && context.output.json) {
        throw new UsageError('--raw and --json cannot be combined', { hint: 'use --raw for the exact bytes, or --json for the whole envelope' });
      }
      const { envelopeToJson, readEvidence, UNREADABLE_BYTES_HINT } = await import('../../evidence/index.js');
      const store = await context.store({ existing: true });
      const resolved = await resolveId(store, id);
      const envelope = readEvidence(store, resolved);
      if (envelope === undefined) {
        const { pruneThatDeleted } = await import('../../evidence/retention.js');
        const prune = pruneThatDeleted(store, resolved);
        if (prune !== undefined) {
          throw new EvidencePrunedError(`evidence ${id} was deleted by the prune of ${prune.prunedAt} (envelopes older than ${prune.olderThan})`, {
            hint: 'a pruned envelope is gone from the store: look for it in an `evidence export` made before the prune; `syndicate evidence list` lists the kept ones',
            details: { prunedAt: prune.prunedAt, olderThan: prune.olderThan },
          });
        }
        throw new UsageError(`no evidence row ${id}`, { hint: 'list ids with `syndicate evidence list`' });
      }
      const { output } = context;
      const { record, unreadable, damage } = envelope;
      if (options.raw !== undefined) {
        const part = options.raw === 'request' ? 'request' : 'response';
        const reason = unreadable[part];
        // As `evidence export` reports them: bytes deleted or edited outside syndicate are a finding, not an empty answer.
        if (reason !== undefined) {
          throw new CheckFailedError(`evidence ${record.id}: its ${part} bytes cannot be read (${reason}); nothing was written`, { hint: UNREADABLE_BYTES_HINT, details: { unreadable } });
        }
        const bytes = record[part].body;
        if (bytes === null) {
          throw new UsageError(`evidence ${record.id} holds no ${part} bytes (state ${record.state})`, {
            hint: 'denials and calls that never reached the upstream have no bytes; see `syndicate evidence show ID`',
          });
        }
        output.writeBytes(bytes);
        if (damage !== undefined) output.warn(`evidence ${record.id} is damaged: ${damage} (${UNREADABLE_BYTES_HINT})`);
      } else if (damage === undefined) {
        output.result({ evidence: envelopeToJson(record) }, () => printRecord(output, record));
      } else {
        // Shown as far as it can be read, as `evidence export` exports it, and a finding (exit 1).
        const evidence = envelopeToJson(record, unreadable);
        if (!output.json) printRecord(output, record, unreadable);
        throw new CheckFailedError(`evidence ${record.id} could not be read whole: ${damage}`, {
          hint: `${UNREADABLE_BYTES_HINT}${output.json ? '; the envelope as read is in details.evidence, {"unreadable": "<why>"} in place of the bytes it lacks' : ''}`,
          details: { evidence },
        });
      }
      context.close();
    });

  withFilterOptions(evidence.command('export').description('export envelopes as JSON lines, oldest first (bodies as utf8 text or base64, with an encoding field)'), 'envelopes')
    .addOption(new Option('--format <format>', 'export format').choices(['jsonl']).default('jsonl'))
    .option('--output <file>', 'write to this file instead of stdout (`-`: stdout): mode 0600, replaced only once the export is complete (a symlink is refused)')
    .option(
      '--from <seq:hash>',
      'begin at a head an earlier verify printed (kept outside the store): with a filter, every chain position from it on is in the file, as an envelope or as the link of one the filter left out, even when the filter selects nothing',
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ syndicate evidence export --format jsonl --since 24h --output evidence.jsonl\n  $ syndicate evidence export --sensitivity confidential,restricted --class hosted --from "$(cat /secure/last-evidence-head)" --output proof.jsonl',
    )
    .action(async (options: ExportOptions, command: Command) => {
      const context = contextFor(command);
      // `-` is stdout, as for most tools that take an output file.
      const outputPath = options.output === '-' || options.output === undefined ? undefined : filePathOption(options.output, '--output', 'evidence.jsonl');
      if (options.format !== 'jsonl') throw new UsageError(`unknown --format "${options.format}"`, { hint: 'use --format jsonl' });
      if (context.output.json && outputPath === undefined) {
        throw new UsageError('--json needs --output FILE: without it the export itself is written to stdout', {
          hint: 'add --output evidence.jsonl, or drop --json',
        });
      }
      const { filters, session } = await filtersOf(options);
      const from = headOption(options.from);
      const { exportEvidence, hasEvidenceOfProvider, UNREADABLE_BYTES_HINT } = await import('../../evidence/index.js');
      // Checked before the store is read: a refused --output costs nothing.
      const file = outputPath === undefined ? undefined : await createOutputFile(outputPath);
      let rows = 0;
      let leftOut = 0;
      const unreadable: { id: string; reason: string }[] = [];
      const lineOf = (envelope: ExportedEnvelope): string => {
        if (envelope.leftOut === true) leftOut += 1;
        else rows += 1;
        if (envelope.unreadable !== undefined) unreadable.push({ id: envelope.id, reason: envelope.unreadable });
        return `${envelope.json}\n`;
      };
      // Ctrl-C or SIGTERM stops it within a batch of rows (exit 130 / 143). The writes are synchronous
      // (a file, or stdout redirected to one): without a pause the signal waited for the whole export,
      // and the process then ended before it was handled, exit 0.
      const stopped =
        file === undefined
          ? 'what was written to stdout so far is incomplete; run it again'
          : `${outputPath ?? ''} was left as it was: the export replaces it only once complete; run it again`;
      // The export replaces the file only once it is complete: a failure leaves the previous one as it was.
      try {
        const store = await context.store({ existing: true });
        await filterBySession(store, filters, session, context.output);
        await warnOfPrunedWindow(store, filters.since, context.output);
        if (filters.provider !== undefined && !hasEvidenceOfProvider(store, filters.provider)) {
          // A mistyped id exports nothing and says so, as `evidence list` does (a retired one is known).
          const { requireProvider } = await import('../../registry/registry.js');
          requireProvider(store, filters.provider);
        }
        await cancellable(
          async (signal) => {
            for await (const envelope of pausing(exportEvidence(store, filters, from), signal)) {
              const line = lineOf(envelope);
              if (file !== undefined) writeOutput(file, () => file.write(line));
              else if (!process.stdout.write(line)) await new Promise((resolve) => process.stdout.once('drain', resolve));
            }
            if (file !== undefined) writeOutput(file, () => file.commit());
          },
          { otherWork: { name: '`evidence export`', hint: stopped } },
        );
      } finally {
        file?.discard();
      }
      context.close();
      const destination = outputPath ?? 'stdout';
      if (unreadable.length > 0) {
        const named = unreadable.slice(0, SHOWN_UNREADABLE_ENVELOPES);
        const more = unreadable.length - named.length;
        throw new CheckFailedError(
          `exported ${counted(rows, 'envelope')} to ${destination}, but ${counted(unreadable.length, 'envelope')} could not be read whole: ` +
            `${named.map((envelope) => `${envelope.id} (${envelope.reason})`).join(', ')}${more > 0 ? ` and ${more} more` : ''}`,
          {
            hint: `each is exported with {"unreadable": "<why>"} in place of the bytes it lacks; ${UNREADABLE_BYTES_HINT}`,
            details: { ...(outputPath === undefined ? {} : { output: outputPath }), rows, unreadable: unreadable.length, unreadableEnvelopes: named },
          },
        );
      }
      const { output } = context;
      // A filtered export ends with the links of the chain positions its filter left out, which `verify --export` proves it through.
      const leftOutWords = leftOut === 0 ? '' : `, and the links of ${leftOut} chain ${leftOut === 1 ? 'position' : 'positions'} its filter left out (no bytes)`;
      if (outputPath !== undefined) output.result({ output: outputPath, rows, ...(leftOut === 0 ? {} : { leftOut }) }, () => output.info(`exported ${counted(rows, 'envelope')} to ${destination}${leftOutWords}`));
    });

  evidence
    .command('verify')
    .description("recompute the hash chain, and each stored session's; exit 1 naming the first broken link")
    .option('--from <seq:hash>', 'check only the rows from a head an earlier verify printed (kept outside the store), e.g. 1200:3fa4…; with --export: the file must hold that head')
    .option('--export <file>', 'verify a file `evidence export` wrote instead of the store (no store needed: on another machine too; `-`: stdin)')
    .addHelpText(
      'after',
      '\nExample:\n  $ syndicate evidence verify --json\n  $ syndicate evidence verify --from "$(cat /secure/last-evidence-head)"\n  $ syndicate evidence verify --export evidence.jsonl --from "$(cat /secure/last-evidence-head)"',
    )
    .action(async (options: { from?: string; export?: string }, command: Command) => {
      const context = contextFor(command);
      const { allPrunes, prunesOverBreaks, verifyChainCancellable } = await import('../../evidence/index.js');
      const from = headOption(options.from);
      if (options.export !== undefined) {
        await verifyExportFile(context.output, options.export, from);
        return;
      }
      const { output } = context;
      const { describeSessionBreak, sessionChainHint, walkSessionChains, walkUnlistedImages } = await import('../../sessions/index.js');
      // A big store takes seconds: Ctrl-C or SIGTERM from the store's opening on stops it within a
      // page of rows, of sessions, or an image (exit 130 / 143).
      let started: Spinner | undefined;
      let verified;
      try {
        verified = await cancellable(
          async (signal) => {
            const store = await context.store({ existing: true });
            const spinner = await output.spinner('verifying the evidence chain');
            started = spinner;
            const chain = await verifyChainCancellable(store, {
              signal,
              ...(from === undefined ? {} : { from }),
              onProgress: (done, total) => spinner.update(`verifying the evidence chain: ${done}/${total} rows`),
            });
            spinner.update("verifying the sessions' chains");
            const sessions = await runPausing(walkSessionChains(store), signal);
            const images = await runPausing(walkUnlistedImages(store), signal);
            return { spinner, result: chain, overBreaks: prunesOverBreaks(store), prunes: allPrunes(store), sessionChains: sessions, unlistedImages: images };
          },
          { otherWork: { name: '`evidence verify`', hint: 'nothing was changed; run it again, or `evidence verify --from <seq:hash>` to check only the rows since a head an earlier verify printed' } },
        );
      } catch (error) {
        started?.fail('evidence verify stopped');
        throw error;
      }
      const { spinner, result, overBreaks, prunes, sessionChains, unlistedImages } = verified;
      context.close();
      const sessionBreaks = {
        ...(sessionChains.broken.length === 0 ? {} : { sessionBreaks: sessionChains.broken }),
        ...(unlistedImages.changed.length === 0 ? {} : { changedUnlistedImages: unlistedImages.changed }),
      };
      if (!result.ok) {
        spinner.fail('evidence chain broken');
        const { brokenAt } = result;
        const { prune } = brokenAt;
        const where =
          prune !== undefined
            ? `the prune of ${prune.prunedAt} (record ${prune.id}: envelopes older than ${prune.olderThan}, rows up to #${prune.throughSeq})`
            : brokenAt.reason === 'not chained'
              ? `${brokenAt.evidenceId ?? '?'}, a finished row outside it`
              : brokenAt.evidenceId === undefined
                ? `#${brokenAt.seq}`
                : `#${brokenAt.seq} (${brokenAt.evidenceId})`;
        throw new CheckFailedError(`evidence chain broken at ${where}: ${brokenAt.reason}`, {
          hint:
            prune !== undefined
              ? `${pruneRecordHint(brokenAt.reason)}; its date and cut-off, and which rows were deleted, are not to be believed — prove them with an \`evidence export\` made before then (\`evidence verify --export FILE --from\` a head kept off the machine); \`evidence verify --json\` lists every prune (prunes)`
              : brokenAt.reason === 'not chained'
              ? `every finished row is chained when it is written: this one was inserted, or taken out of the chain, outside syndicate, and \`evidence list\`, \`export\` and \`metrics\` count it; the ${counted(result.rows, 'chained row')} verified — inspect it with \`syndicate evidence show ${brokenAt.evidenceId ?? ''}\``
              : brokenAt.reason === 'pruned'
              ? `\`evidence prune\` deleted the rows up to #${result.prunedThrough?.throughSeq ?? '?'} on ${result.prunedThrough?.prunedAt ?? '?'}: a head recorded before then cannot be checked any more; run \`evidence verify\` without --from (it starts from the prune's anchor), or give a head recorded since`
              : brokenAt.reason === 'anchor mismatch'
              ? 'the row at the recorded head no longer hashes to it: the chain up to it was rewritten, or the head was recorded from another store; run a full `evidence verify`'
              : brokenAt.reason === 'row missing' || brokenAt.reason === 'head mismatch'
                ? `a row was deleted or the chain head edited outside syndicate; ${counted(result.rows, 'row')} before it verified`
                : `the row was edited outside syndicate; ${counted(result.rows, 'row')} before it verified — inspect it with \`syndicate evidence show ${brokenAt.evidenceId ?? ''}\``,
          details: { rows: result.rows, brokenAt, ...(result.prunedThrough === undefined ? {} : { prunedThrough: result.prunedThrough }), ...sessionBreaks },
        });
      }
      const [firstSessionBreak] = sessionChains.broken;
      if (firstSessionBreak !== undefined) {
        spinner.fail('session chain broken');
        const others = sessionChains.broken.length - 1;
        throw new CheckFailedError(
          `session ${firstSessionBreak.sessionId}'s chain broken at ${describeSessionBreak(firstSessionBreak)}: ${firstSessionBreak.reason}${others === 0 ? '' : ` (and ${counted(others, 'other session')})`}; the evidence chain is intact (${counted(result.rows, 'row')})`,
          {
            hint: sessionChainHint(firstSessionBreak.sessionId),
            details: { rows: result.rows, head: result.head, sessions: sessionChains.sessions, ...sessionBreaks },
          },
        );
      }
      const [firstChangedImage] = unlistedImages.changed;
      if (firstChangedImage !== undefined) {
        spinner.fail('stored image changed');
        const others = unlistedImages.changed.length - 1;
        throw new CheckFailedError(
          `stored session image ${firstChangedImage} does not hash to its digest${others === 0 ? '' : ` (and ${counted(others, 'other image')})`}: it was edited outside syndicate; no message lists it, so no session sends it; the evidence chain (${counted(result.rows, 'row')}) and the session chains are intact`,
          {
            hint: 'find who can write the store (`syndicate doctor` checks its owner and mode); the next `syndicate session delete` removes every stored image no message lists, this one included',
            details: { rows: result.rows, head: result.head, sessions: sessionChains.sessions, ...sessionBreaks },
          },
        );
      }
      spinner.stop();
      const pruned = result.prunedThrough;
      const sessions = { sessions: sessionChains.sessions, messages: sessionChains.messages, unlistedImages: unlistedImages.unlisted };
      // The lists are there when empty too: a script's `jq '.prunes[]'` on a store never pruned gets nothing, not an error.
      output.result({ rows: result.rows, head: result.head, ...(from === undefined ? {} : { from }), ...(pruned === undefined ? {} : { prunedThrough: pruned }), prunes, prunedBreaks: overBreaks, sessions }, () => {
        const start = pruned !== undefined ? ` from #${pruned.throughSeq + 1}` : from === undefined ? '' : ` from #${from.seq}`;
        output.line(`evidence chain intact${start}: ${counted(result.rows, 'row')}, head #${result.head.seq} ${result.head.hash}`);
        if (pruned !== undefined) output.info(`rows up to #${pruned.throughSeq} were deleted by \`evidence prune\` on ${pruned.prunedAt}; the first kept row links to the last deleted one's hash ${pruned.throughHash}`);
        if (prunes.length > 1) output.info(`${counted(prunes.length, 'prune')} in all, ${counted(prunes.reduce((sum, prune) => sum + prune.envelopes, 0), 'envelope')} deleted: \`evidence verify --json\` lists each (prunes)`);
        for (const prune of overBreaks) {
          const where = prune.brokenAt.evidenceId === undefined ? `#${prune.brokenAt.seq}` : `#${prune.brokenAt.seq} (${prune.brokenAt.evidenceId})`;
          output.warn(`the prune of ${prune.prunedAt} deleted rows up to #${prune.throughSeq} although their chain was broken at ${where} (${prune.brokenAt.reason}): it was told to (--accept-break)`);
        }
        if (sessionChains.sessions > 0) output.line(`session chains intact: ${counted(sessionChains.sessions, 'session')}, ${counted(sessionChains.messages, 'message')}`);
        if (unlistedImages.unlisted > 0) {
          output.info(`${counted(unlistedImages.unlisted, 'stored image')} no message lists (left by an edit of the store; each hashes to its digest): the next \`session delete\` removes them`);
        }
        output.info(`keep \`${result.head.seq}:${result.head.hash}\` outside this machine's store; \`evidence verify --from\` it later checks only newer rows`);
      });
    });

  evidence
    .command('prune')
    .description('retention: delete the envelopes older than a duration, with their bytes and expired permits; the chain stays verifiable')
    .option('--older-than <duration>', "delete what was created before this long ago, with its unit: 90d or 720h (default: the policy's evidence.retentionDays)")
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--accept-break', 'delete the rows even where their chain is broken (an edited or missing row); the prune record keeps the break')
    .addHelpText(
      'after',
      `
The rows are verified before they are deleted: where their chain is broken (a row edited or
deleted outside syndicate) the prune stops there and exits 1, because deleting them would erase
the only trace of the edit; --accept-break deletes them anyway and records the break, which
\`evidence verify\` then reports.

Only a prefix of the chain is deleted (an old stream chained after newer envelopes is kept, with
everything after it), in batches that each commit on their own, so a gateway running beside it
waits one batch at most. The hash of the last deleted link is recorded: \`evidence verify\` then
proves the kept chain from it. Keep the head \`evidence verify\` printed before pruning outside
this machine if you need to prove the deleted part later (export it first: \`evidence export\`).
The file keeps its size; SQLite reuses the freed pages for new evidence.

With evidence.retentionDays set in policy.yaml, \`evidence prune\` alone applies it, and
\`syndicate serve\` applies it at start and then daily.

Examples:
  $ syndicate evidence prune --older-than 90d --dry-run
  $ syndicate evidence export --since 3650d --output archive.jsonl && syndicate evidence prune --older-than 90d`,
    )
    .action(async (options: { olderThan?: string; dryRun?: boolean; acceptBreak?: boolean }, command: Command) => {
      const context = contextFor(command);
      const { parseDuration } = await import('../../common/duration.js');
      let olderThanMs: number;
      if (options.olderThan !== undefined) {
        olderThanMs = parseDuration(options.olderThan, '--older-than', { minimumMs: 1 });
      } else {
        const { loadPolicy } = await import('../../policy/load.js');
        const days = loadPolicy(context.home.policyPath).evidence.retentionDays;
        if (days === undefined) {
          throw new UsageError('evidence prune needs --older-than, or evidence.retentionDays in policy.yaml', {
            hint: `give a duration (evidence prune --older-than 90d), or set evidence: {retentionDays: 90} in ${shellWord(context.home.policyPath)}`,
          });
        }
        olderThanMs = days * 24 * 3600 * 1000;
      }
      const { pruneEvidenceYielding } = await import('../../evidence/retention.js');
      const { output } = context;
      const dryRun = options.dryRun === true;
      const spinner = dryRun ? undefined : await output.spinner('pruning evidence');
      let result: PruneResult;
      try {
        // Ctrl-C or SIGTERM from the store's opening on stops it between two batches (exit 130 /
        // 143): each batch is one transaction, so what was deleted stays deleted and the chain
        // stays verifiable.
        result = await cancellable(
          async (signal) => {
            const store = await context.store({ existing: true });
            const pruned = await pruneEvidenceYielding(store, {
              olderThan: new Date(Date.now() - olderThanMs),
              dryRun,
              acceptBreak: options.acceptBreak === true,
              onProgress: (done, total) => spinner?.update(`pruning evidence: ${done}/${total} envelopes`),
              shouldStop: () => signal.aborted,
            });
            if (signal.aborted || pruned === undefined) throw pruneStopped(signal.reason, dryRun, pruned);
            return pruned;
          },
          { otherWork: { name: '`evidence prune`', hint: 'each batch commits on its own: what it deleted stays deleted, the chain verifiable; run it again to delete the rest' } },
        );
      } finally {
        spinner?.stop();
        context.close();
      }
      output.result({ pruned: result }, () => {
        const verb = result.dryRun ? 'would delete' : 'deleted';
        const range = result.fromSeq === undefined ? '' : ` (chain #${result.fromSeq}–#${result.throughSeq})`;
        output.line(
          `${verb} ${counted(result.envelopes, 'envelope')}${range} created before ${result.olderThan}, ${counted(result.chunks, 'byte chunk')}` +
            `${result.dryRun ? '' : `, ${counted(result.blocks, 'unshared request block')}`} and ${counted(result.permits, 'expired permit')}`,
        );
        if (result.keptOlder > 0) output.info(`${counted(result.keptOlder, 'older envelope')} kept: chained after a newer one (only a prefix of the chain is deleted)`);
        if (result.brokenAt !== undefined) {
          const where = result.brokenAt.evidenceId === undefined ? `#${result.brokenAt.seq}` : `#${result.brokenAt.seq} (${result.brokenAt.evidenceId})`;
          output.warn(
            result.dryRun
              ? `the chain is broken at ${where} (${result.brokenAt.reason}): a prune would stop there and delete nothing from it on unless given --accept-break`
              : `deleted although the chain was broken at ${where} (${result.brokenAt.reason}): the prune record keeps the break, \`evidence verify\` reports it`,
          );
        }
        if (!result.dryRun && result.throughHash !== undefined) {
          output.info(`\`evidence verify\` now starts from #${result.throughSeq}'s hash ${result.throughHash}; the file keeps its size (SQLite reuses the pages)`);
        }
      });
    });

  return evidence;
}

/**
 * The error of a prune a signal stopped (`reason`: the signal's), saying what it deleted: the
 * batches committed so far (`pruned`, undefined for a dry run or before the first batch).
 */
function pruneStopped(reason: unknown, dryRun: boolean, pruned: PruneResult | undefined): unknown {
  if (!(reason instanceof InterruptedError)) return reason;
  const deleted = dryRun ? 0 : (pruned?.envelopes ?? 0);
  const hint = dryRun
    ? 'a dry run deletes nothing; run it again'
    : deleted === 0
      ? 'nothing was deleted; run it again'
      : `${counted(deleted, 'envelope')} up to chain #${pruned?.throughSeq ?? 0} ${deleted === 1 ? 'was' : 'were'} deleted (each batch commits on its own; ` +
        'the chain stays verifiable), nothing after; run it again to delete the rest';
  return new InterruptedError(reason.message, {
    hint,
    exitCode: reason.exitCode as typeof ExitCode.interrupted | typeof ExitCode.terminated,
    details: { deleted, ...(deleted === 0 ? {} : { throughSeq: pruned?.throughSeq }) },
  });
}

/** Envelopes whose bytes could not be read that an export's error names (`--json` has the count). */
const SHOWN_UNREADABLE_ENVELOPES = 5;

/**
 * The file `export --output` writes, as a temporary file beside `path` renamed over it when the
 * export is complete (mode 0600: envelopes hold verbatim prompts). A symlink is refused rather
 * than followed or replaced, and so is anything that is not a regular file.
 */
async function createOutputFile(path: string): Promise<AtomicFile> {
  const { lstatSync } = await import('node:fs');
  const { AtomicFile } = await import('../../common/atomic-file.js');
  let existing: Stats | undefined;
  try {
    existing = lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw outputError(path, error);
  }
  if (existing?.isSymbolicLink() === true) {
    throw new UsageError(`--output ${path} is a symbolic link: the export is not written through it`, {
      hint: `give the path of the file itself (\`realpath ${shellWord(path)}\`), or remove the link`,
    });
  }
  if (existing !== undefined && !existing.isFile()) {
    throw new UsageError(`--output ${path} is not a regular file`, { hint: 'give the path of a file to create or replace' });
  }
  try {
    return AtomicFile.create(path, 0o600);
  } catch (error) {
    throw outputError(path, error);
  }
}

/** Runs one write of `file`; a file-system failure is the caller's --output (a usage error, exit 2), not the store. */
function writeOutput(file: AtomicFile, write: () => void): void {
  try {
    write();
  } catch (error) {
    throw outputError(file.path, error);
  }
}

/** Why `path` could not be written, without the temporary file's name that the system's message carries. */
function outputError(path: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? `its directory ${dirname(path)} does not exist`
      : code === 'ENOTDIR'
        ? `${dirname(path)} is not a directory`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `${code}: this user may not write in ${dirname(path)}`
        : code === 'ENOSPC'
          ? 'ENOSPC: no space left on the device'
          : (error as Error).message;
  return new UsageError(`cannot write ${path}: ${why}`, {
    hint: 'choose a writable path for --output (its directory must exist, with room for the export)',
  });
}

/** `evidence verify --export FILE`: the file proven on its own, without the store. */
async function verifyExportFile(output: Output, file: string, from: { seq: number; hash: string } | undefined): Promise<void> {
  const { ExportVerifier } = await import('../../evidence/export-verify.js');
  const { createReadStream, openSync, fstatSync, closeSync } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const path = file === '-' ? undefined : filePathOption(file, '--export', 'evidence.jsonl');
  const input = { file: path ?? '<stdin>' };
  const verifier = new ExportVerifier(from);
  // Opened first, so that a missing or unreadable file is said plainly; then read line by line as
  // it streams: an export of a large store does not fit in memory at once.
  let fd: number | undefined;
  if (path !== undefined) {
    try {
      fd = openSync(path, 'r');
      if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { hint: 'give the file `evidence export --output` wrote, or `-` and pipe it' });
    }
  }
  const stream = fd === undefined ? process.stdin : createReadStream('', { fd });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (!verifier.add(line)) break;
  } finally {
    lines.close();
    if (fd !== undefined) stream.destroy();
  }
  const result = verifier.finish();
  if (!result.ok) {
    const { brokenAt } = result;
    const where = [brokenAt.seq === undefined ? undefined : `#${brokenAt.seq}`, brokenAt.evidenceId, brokenAt.line === 0 ? undefined : `line ${brokenAt.line}`].filter((part) => part !== undefined).join(' ');
    const hints: Record<typeof brokenAt.reason, string> = {
      'not an envelope': 'every line of an export is one envelope as JSON: the file was cut short, or is not an export',
      'no link': 'the line carries no `link`: it was exported by an earlier syndicate version, which did not write one; export again with this version',
      'content changed': 'the line says other than its link, or its link does not hash to its hash: the file was edited since the export (or the store before it: `evidence verify` there)',
      'link broken': 'the line does not follow the envelope chained before it: a line was edited, or the file joins two exports of different stores',
      'row missing':
        "a chain position between the first and the last is in the file neither as an envelope nor as the link of one the export's filter left out: a line was deleted from it (or the export was made by a syndicate version that did not write the positions its filter left out: export it again; a file exported `--from` a head begins at it: give that head as --from)",
      'matches the filter':
        "the line says its envelope was left out by the export's filter, yet the filter selects it: the envelope was taken out of the file and its link put in its place — ask for the export again",
      'anchor mismatch': 'the head given (--from) is not in the file with that hash: the chain was rewritten since it was recorded, or the export does not reach it',
    };
    throw new CheckFailedError(`evidence export ${input.file} does not verify at ${where}: ${brokenAt.reason}`, {
      hint: hints[brokenAt.reason],
      details: { envelopes: result.envelopes, chained: result.chained, brokenAt },
    });
  }
  const { leftOut } = result;
  const document = {
    export: input.file,
    envelopes: result.envelopes,
    chained: result.chained,
    ...(result.first === undefined ? {} : { first: result.first }),
    ...(result.head === undefined ? {} : { head: result.head }),
    ...(leftOut === undefined ? {} : { leftOut }),
    ...(from === undefined ? {} : { from }),
  };
  output.result(document, () => {
    if (result.head === undefined || result.first === undefined) {
      output.line(`evidence export ${input.file}: ${counted(result.envelopes, 'envelope')}, none chained`);
      return;
    }
    if (leftOut === undefined || leftOut.positions === 0) {
      output.line(`evidence export intact: ${counted(result.chained, 'chained envelope')} #${result.first.seq}–#${result.head.seq}, head #${result.head.seq} ${result.head.hash}`);
    } else {
      output.line(
        `evidence export intact: ${counted(result.chained, 'chained envelope')} verified, ${leftOut.positions} left out by the export's filter (${positionRanges(leftOut.ranges)}); ` +
          `chain #${result.first.seq}–#${result.head.seq}, head #${result.head.seq} ${result.head.hash}`,
      );
    }
    if (leftOut !== undefined) {
      output.info(`the export's filter: ${filterWords(leftOut.filter)}; each position it left out was proven by its link (no bytes), and none of them is a row it selects`);
    }
    output.info(
      result.first.seq === 1
        ? 'the first links to the start of the chain'
        : `the first links to #${result.first.seq - 1}'s hash ${result.first.prevHash} (${
            leftOut === undefined ? 'an earlier export' : "a row before the export's range (its filter, or an earlier export)"
          }, or the last link \`evidence prune\` deleted)`,
    );
    if (result.envelopes > result.chained) output.info(`${counted(result.envelopes - result.chained, 'envelope')} still in flight when exported (pending, not chained): checked against their links only`);
    if (from === undefined) {
      output.info('compare the head with one `evidence verify` printed and kept off the machine, or give it as --from');
    } else {
      const start = result.first.seq <= from.seq ? from.seq : from.seq + 1;
      output.info(
        `every chain position from #${start} to #${result.head.seq} is in the file${leftOut === undefined ? '' : ", as an envelope or as the link of one the export's filter left out"}: compare the head with the newest one \`evidence verify\` printed and kept off the machine`,
      );
    }
  });
}

/** Up to this many ranges of left-out positions are named by `verify --export`; `--json` has them all. */
const SHOWN_POSITION_RANGES = 8;

/** Ranges of chain positions as `#2–#5, #9` (and how many more). */
function positionRanges(ranges: readonly [number, number][]): string {
  const named = ranges.slice(0, SHOWN_POSITION_RANGES).map(([from, to]) => (from === to ? `#${from}` : `#${from}–#${to}`));
  const more = ranges.length - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more} more ranges` : ''}`;
}

/** An export's filter as the flags that made it. */
function filterWords(filter: ExportFilter): string {
  const words = [
    filter.since === undefined ? undefined : `--since ${filter.since}`,
    filter.until === undefined ? undefined : `--until ${filter.until}`,
    filter.provider === undefined ? undefined : `--provider ${filter.provider}`,
    filter.state === undefined ? undefined : `--state ${filter.state}`,
    filter.session === undefined ? undefined : `--session ${filter.session}`,
    filter.sensitivities === undefined ? undefined : `--sensitivity ${filter.sensitivities.join(',')}`,
    filter.providerClasses === undefined ? undefined : `provider class ${filter.providerClasses.join(' or ')}`,
  ];
  return words.filter((word) => word !== undefined).join(' ');
}

/** `evidence list`'s and `evidence export`'s filters, on `command`. */
function withFilterOptions(command: Command, what: 'rows' | 'envelopes'): Command {
  return (
    command
      .option('--since <time>', `only ${what} created at or after this time: a duration back from now with its unit (30m, 7d), a date (2026-11-01, UTC) or a date and time with its zone (2026-11-01T09:30:00Z)`)
      .option('--until <time>', `only ${what} created before this time, in the same forms as --since (2026-12-01: up to the end of November, UTC)`)
      .option('--provider <id>', `only ${what} for this provider id`)
      // Fixed sets as commander choices: the help, `--help --json` and the completion scripts offer them.
      .addOption(new Option('--state <state>', `only ${what} in this state`).choices([...EVIDENCE_STATES]))
      .option('--session <id>', `only ${what} of this session: a stored session's id or name, x-syndicate-session, or Claude Code's / Codex's own session id`)
      .addOption(sensitivityOption(what))
      .addOption(new Option('--class <class>', `only ${what} of providers of this class; hosted: both hosted classes`).choices([...CALLABLE_PROVIDER_CLASSES, 'hosted']))
  );
}

/** The filters given, checked; the session as given, which `filterBySession` looks up in the store. */
async function filtersOf(options: FilterOptions): Promise<{ filters: ListEvidenceOptions; session: string | undefined }> {
  const { parseTimeRange } = await import('../../common/point-in-time.js');
  const filters: ListEvidenceOptions = parseTimeRange(options);
  if (options.provider !== undefined) filters.provider = options.provider;
  // Commander has checked each against its choices, and `sensitivityLevelsOption` the levels.
  if (options.sensitivity !== undefined) filters.sensitivities = options.sensitivity;
  if (options.class !== undefined) {
    const wanted = options.class;
    filters.providerClasses = CALLABLE_PROVIDER_CLASSES.filter((name) => (wanted === 'hosted' ? name !== 'local' : name === wanted));
  }
  if (options.state !== undefined) filters.state = options.state;
  return { filters, session: sessionFilterOption(options.session) };
}

/** `--from <seq:hash>`: a head as `evidence verify` printed it, kept off the machine. */
function headOption(given: string | undefined): { seq: number; hash: string } | undefined {
  if (given === undefined) return undefined;
  // Hex in any case: a head copied through a tool that upper-cases it is the same head.
  const match = /^(\d+):([0-9a-f]{64})$/i.exec(given.trim());
  // Chain positions start at 1 and stay safe integers: another seq is a malformed head, not a broken chain (exit 1 named a row missing at #100000000000000000000).
  const seq = match === null ? Number.NaN : Number(match[1]);
  if (match === null || !Number.isSafeInteger(seq) || seq < 1) {
    throw new UsageError(`invalid --from "${given}"`, { hint: 'give a head as an earlier `evidence verify` printed it: <seq>:<64 hex digits>' });
  }
  return { seq, hash: (match[2] as string).toLowerCase() };
}

/** Warns when a prune deleted evidence the window (from `sinceMs`, or from the start) would hold: an empty answer there is not "nothing happened". */
async function warnOfPrunedWindow(store: Store, sinceMs: number | undefined, output: Output): Promise<void> {
  const { prunedWindowWarning } = await import('../../evidence/retention.js');
  const warning = prunedWindowWarning(store, sinceMs);
  if (warning !== undefined) output.warn(warning);
}

/** `--session` as the store knows it (a stored session's name is its id), warning of one nothing bears. */
async function filterBySession(store: Store, filters: ListEvidenceOptions, session: string | undefined, output: Output): Promise<void> {
  if (session === undefined) return;
  const { sessionId, warning } = (await import('../../sessions/sessions.js')).sessionFilter(store, session);
  filters.session = sessionId;
  if (warning !== undefined) output.warn(warning);
}

/** The evidence id a full id or unique prefix names, in any case (ids are lower-case: `ev_01m8…`). */
async function resolveId(store: Store, given: string): Promise<string> {
  const id = given.trim().toLowerCase();
  const { resolveEvidenceId } = await import('../../evidence/index.js');
  const matches = resolveEvidenceId(store, id);
  if (matches.length > 1 && !matches.includes(id)) {
    throw new UsageError(`evidence id prefix "${given}" is ambiguous`, { hint: 'give more characters of the id' });
  }
  return matches.includes(id) ? id : (matches[0] ?? id);
}

function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function formatMs(value: number | null): string {
  return value === null ? '-' : String(Math.round(value));
}

function formatProvider(row: EvidenceSummary): string | null {
  if (row.provider.id === null) return null;
  return row.provider.version === null ? row.provider.id : `${row.provider.id}@v${row.provider.version}`;
}

function formatTokens(row: EvidenceSummary): string | null {
  if (row.tokenAccounting === null) return null;
  if (row.tokenAccounting === 'not_available') return 'n/a';
  const counts = `${row.inputTokens ?? '-'}/${row.outputTokens ?? '-'}`;
  return row.tokenAccounting === 'exact' ? `${counts} exact` : `~${counts} approx`;
}

/** Shown only when the provider reported prompt-cache figures (both are part of the input tokens). */
function promptCacheField(row: EvidenceSummary): [string, string][] {
  if (row.cachedInputTokens === null && row.cacheWriteInputTokens === null) return [];
  return [['prompt cache', `${row.cachedInputTokens ?? 0} input tokens read, ${row.cacheWriteInputTokens ?? 0} written`]];
}

function colorState(output: Output, state: string): string {
  if (state === 'completed') return output.color.green(state);
  if (state === 'pending') return output.color.cyan(state);
  if (state === 'denied') return output.color.yellow(state);
  return output.color.red(state);
}

/** Longest stored text the human view prints of a value it could not read (`--json` has all of it). */
const SHOWN_UNPARSED_CHARS = 200;

/** A JSON column that did not read back (edited outside syndicate): its stored text, and why. */
function unparsedText(value: UnparsedValue): string {
  const text = value.unparsed.length <= SHOWN_UNPARSED_CHARS ? value.unparsed : `${value.unparsed.slice(0, SHOWN_UNPARSED_CHARS)}… (${value.unparsed.length} characters)`;
  return `unparsed ${JSON.stringify(text)} (${value.reason})`;
}

/** The JSON columns the view does not otherwise print, when they did not read back. */
function unparsedFields(record: EvidenceRecord): [string, string][] {
  const columns: [string, unknown][] = [
    ['permit payload', record.permit],
    ['route', record.route],
    ['request headers', record.request.headers],
    ['response headers', record.response.headers],
  ];
  return columns.flatMap(([name, value]): [string, string][] => (isUnparsedValue(value) ? [[name, unparsedText(value)]] : []));
}

function policyDigestOf(route: unknown): string | undefined {
  if (route === null || typeof route !== 'object' || !('policyDigest' in route)) return undefined;
  return typeof route.policyDigest === 'string' ? route.policyDigest : undefined;
}

/**
 * What set the row's sensitivity (`route.levelSources`: detectors and where, never the matched
 * text); rows routed before it was recorded, and refusals before routing, name none.
 */
function levelSourcesOf(route: unknown): string | undefined {
  if (!isRecord(route) || !Array.isArray(route['levelSources'])) return undefined;
  const sources = (route['levelSources'] as unknown[]).filter(
    (source): source is LevelSource => isRecord(source) && typeof source['detector'] === 'string' && typeof source['reason'] === 'string' && Array.isArray(source['locations']),
  );
  return becauseText(sources);
}

/** What an earlier syndicate stored for a row presented otherwise (`recordedAs`): nothing was registered, nothing called. */
function recordedAsNote(record: EvidenceSummary): string {
  if (record.recordedAs === undefined) return '';
  return `, nothing called (recorded as ${record.recordedAs.kind}, state ${record.recordedAs.state}, by an earlier syndicate; metrics counts it a failed attempt)`;
}

/** Up to this many models its route left out are named by `evidence show`; `--json` has them all (`route.excluded`). */
const SHOWN_EXCLUSIONS = 5;

/**
 * The models a route left out and why, as `show` prints them: `hosted:gpt-4o-mini: class … may not
 * receive restricted data`. Reads both shapes rows hold: the router's exclusion `{provider, model,
 * reasons, …}`, and `{target, reasons}` of answered rows written by earlier versions.
 */
function leftOutModels(route: unknown): string | undefined {
  if (!isRecord(route) || !Array.isArray(route['excluded']) || route['excluded'].length === 0) return undefined;
  const excluded = route['excluded'] as unknown[];
  const lines = excluded.slice(0, SHOWN_EXCLUSIONS).map((exclusion) => {
    if (!isRecord(exclusion)) return JSON.stringify(exclusion);
    const target = typeof exclusion['target'] === 'string' ? exclusion['target'] : `${String(exclusion['provider'])}:${String(exclusion['model'])}`;
    const reasons = Array.isArray(exclusion['reasons']) ? exclusion['reasons'].join('; ') : '';
    return reasons === '' ? target : `${target}: ${reasons}`;
  });
  const more = excluded.length - lines.length;
  return `${lines.join(' | ')}${more > 0 ? ` | and ${more} more (\`--json\`: route.excluded)` : ''}`;
}

function printRecord(output: Output, record: EvidenceRecord, unreadable: UnreadableBodies = {}): void {
  const none = '-';
  const fields: [string, string][] = [
    ['id', record.id],
    ['state', `${colorState(output, record.state)}${record.chainSeq === null ? ' (not chained yet)' : ` (chain #${record.chainSeq})`}${recordedAsNote(record)}`],
    ['kind', record.kind === 'permit_check' ? `${record.kind} (permit issue or verify on its own: no request)` : `${record.kind}, request ${record.requestId} hop ${record.hop}`],
    ['time', `${record.createdAt} → ${record.finishedAt ?? none}`],
    ['provider', `${formatProvider(record) ?? none}${record.provider.class === null ? '' : ` (${record.provider.class})`}, model ${record.model ?? none}`],
    ['caller', `${record.caller}${record.sessionId === null ? '' : `, session ${record.sessionId}`}, pid ${record.pid}`],
    ['sensitivity', record.sensitivity ?? none],
    ['because', levelSourcesOf(record.route) ?? none],
    // The policy that routed it (`route.policyDigest`): a refusal before routing, or a row from before the digest was recorded, names none.
    ['policy', policyDigestOf(record.route) ?? none],
    ['left out', leftOutModels(record.route) ?? none],
    ['permit', record.permitId ?? none],
    ['status', record.status === null ? none : String(record.status)],
    ['latency', `first token ${formatMs(record.firstTokenMs)} ms, total ${formatMs(record.totalMs)} ms`],
    ['tokens', formatTokens(record) ?? none],
    ...promptCacheField(record),
    [
      'fidelity',
      `capture ${record.verbatimCapture ?? none}, tokens ${record.tokenAccounting ?? none}, tool calls ${record.toolCallFidelity ?? none}`,
    ],
    ['markers', isUnparsedValue(record.markers) ? unparsedText(record.markers) : record.markers.length === 0 ? none : record.markers.join(', ')],
    ['cost', record.costUsd === null ? none : `$${record.costUsd.toFixed(6)}`],
    [
      'warnings',
      isUnparsedValue(record.warnings)
        ? unparsedText(record.warnings)
        : record.warnings.length === 0
          ? none
          : record.warnings.map((warning) => `${warning.setting}: ${warning.message}`).join('; '),
    ],
    ['error', record.error === null ? none : isUnparsedValue(record.error) ? unparsedText(record.error) : `${record.error.code}: ${record.error.message}`],
    ...unparsedFields(record),
    [
      'request',
      record.request.method === null
        ? none
        : `${record.request.method} ${record.request.url ?? ''} (${unreadable.request === undefined ? counted(record.request.body?.length ?? 0, 'byte') : output.color.red(`unreadable: ${unreadable.request}`)})`,
    ],
    [
      'response',
      unreadable.response !== undefined
        ? output.color.red(`unreadable: ${unreadable.response}`)
        : record.response.body === null
          ? none
          : `${counted(record.response.chunks.length, 'chunk')}, ${counted(record.response.body.length, 'byte')}${
              record.response.complete === false ? ', cut short' : ''
            }`,
    ],
    ['hash', record.hash ?? none],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) output.line(`${output.color.bold(name.padEnd(width))}  ${value}`);
  if ((record.request.body !== null && unreadable.request === undefined) || (record.response.body !== null && unreadable.response === undefined)) {
    output.line();
    output.line(output.color.dim(output.forHome(`exact bytes: \`syndicate evidence show ${record.id} --raw request\` (or \`--raw response\`)`)));
  }
}

/** The human table of `evidence list`, as work that pauses between rows (`runPausing`). */
function* evidenceTable(output: Output, rows: readonly EvidenceSummary[]): PausingWork<string> {
  // The session column only when a row names one: the ids `--session` and `metrics --session` take.
  const withSessions = rows.some((row) => row.sessionId !== null);
  const cells: (string | number | null)[][] = [];
  for (const row of rows) {
    cells.push([
      row.id,
      formatTime(row.createdAt),
      colorState(output, row.state),
      row.sensitivity,
      formatProvider(row),
      row.provider.class,
      row.model,
      row.status,
      formatTokens(row),
      row.totalMs === null ? null : `${formatMs(row.firstTokenMs)}/${formatMs(row.totalMs)}`,
      isUnparsedValue(row.markers) ? unparsedText(row.markers) : row.markers.length === 0 ? null : row.markers.join(','),
      ...(withSessions ? [row.sessionId] : []),
    ]);
    if (cells.length % ITEMS_BETWEEN_CHECKS === 0) yield;
  }
  return yield* output.tableWork(['id', 'time (utc)', 'state', 'sensitivity', 'provider', 'class', 'model', 'status', 'tokens', 'ttft/total ms', 'markers', ...(withSessions ? ['session'] : [])], cells);
}

/** What a prune record that no longer links (`evidence verify`) means, by reason. */
function pruneRecordHint(reason: string): string {
  if (reason === 'prune record not chained') return 'this prune record was written outside syndicate (every prune links its record to the one before): the rows it says were pruned may have been deleted by hand';
  if (reason === 'prune record missing') return 'a prune record before this one was deleted outside syndicate';
  return 'this prune record was edited outside syndicate after it was written';
}
