import { Command, Option } from 'commander';
import { CAPABILITY_CLASSES, type CapabilityClass } from '../../common/vocabulary.js';
import type { DroppedTurn, Session, SessionDetail } from '../../sessions/index.js';
import { contextFor, type CommandContext } from '../context.js';
import { counted, type Output } from '../output.js';

export function sessionCommand(): Command {
  const session = new Command('session')
    .description('conversations kept across runs: messages, active provider:model and capability envelope')
    .addHelpText(
      'after',
      `
Examples:
  $ syndicate session start --name triage --model ollama-local:llama3.2:1b
  $ syndicate run "first question" --session ses_...
  $ syndicate session show ses_...
  $ syndicate provider switch anthropic:claude-sonnet-4-20250514 --session ses_...
  $ syndicate session approve ses_...`,
    );

  session
    .command('start')
    .description('start a session; its first checkpoint approves the capability class of its model (auto: the highest the policy allows)')
    .option('--name <name>', 'a unique name to find the session by')
    .option('--model <model>', '`provider:model`, or `auto` to route every turn by policy', 'auto')
    .option('--system <text>', 'system prompt sent with every turn')
    .addHelpText('after', '\nExample:\n  $ syndicate session start --name triage --model ollama-local:llama3.2:1b --system "Answer briefly."')
    .action(async (options: { name?: string; model: string; system?: string }, command: Command) => {
      const context = contextFor(command);
      try {
        const { startSession } = await import('../../sessions/index.js');
        const store = await context.store({ existing: true });
        const started = startSession(store, await policyOf(context), {
          model: options.model,
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.system === undefined ? {} : { systemPrompt: options.system }),
        });
        context.output.result({ session: started }, () => {
          context.output.line(`started session ${started.id}${started.name === null ? '' : ` (${started.name})`} on ${activeLabel(started)}`);
          context.output.line(`envelope approves up to ${started.envelope.maxCapability}`);
          context.output.info(context.output.stderrColor.dim(context.output.forHome(`continue it with: \`syndicate run "..." --session ${started.id}\``)));
        });
      } finally {
        context.close();
      }
    });

  session
    .command('list')
    .description('list sessions, newest first')
    .addHelpText('after', '\nExample:\n  $ syndicate session list --json')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      try {
        const { listSessions } = await import('../../sessions/index.js');
        const sessions = listSessions(await context.store({ existing: true }));
        const { output } = context;
        output.result({ sessions }, () => {
          if (sessions.length === 0) {
            output.line(output.forHome('no sessions; start one with `syndicate session start`'));
            return;
          }
          output.table(
            ['id', 'name', 'model', 'turns', 'envelope', 'updated'],
            sessions.map((item) => [
              item.id,
              item.name ?? '',
              activeLabel(item),
              item.droppedTurns === 0 ? String(item.turns) : `${item.turns} (+${item.droppedTurns} dropped)`,
              envelopeLabel(item, output),
              item.updatedAt,
            ]),
          );
        });
      } finally {
        context.close();
      }
    });

  session
    .command('show')
    .description('show a session: messages (dropped ones marked, images by type, size and digest), active model, envelope, checkpoints and switches')
    .argument('<id>', 'session id or name')
    .addHelpText('after', '\nExample:\n  $ syndicate session show triage --json')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextFor(command);
      try {
        const { sessionDetail } = await import('../../sessions/index.js');
        const detail = sessionDetail(await context.store({ existing: true }), id);
        context.output.result({ session: detail }, () => printDetail(context.output, detail));
      } finally {
        context.close();
      }
    });

  session
    .command('approve')
    .description('checkpoint the capability envelope: approve up to a class (default: what the active model needs), so invocations may run again')
    .argument('<id>', 'session id or name')
    .addOption(new Option('--max-capability <class>', 'the highest capability class approved').choices([...CAPABILITY_CLASSES]))
    .addHelpText('after', '\nExample:\n  $ syndicate session approve triage --max-capability frontier')
    .action(async (id: string, options: { maxCapability?: CapabilityClass }, command: Command) => {
      const context = contextFor(command);
      try {
        const { approveEnvelopeCheckpoint } = await import('../../sessions/index.js');
        const store = await context.store({ existing: true });
        const { session: approved, checkpoint } = approveEnvelopeCheckpoint(store, await policyOf(context), id, options.maxCapability);
        context.output.result({ session: approved, checkpoint }, () => {
          context.output.line(`session ${approved.id}: envelope approved up to ${approved.envelope.maxCapability} (model ${activeLabel(approved)})`);
        });
      } finally {
        context.close();
      }
    });

  session
    .command('delete')
    .description('delete a session with its stored messages, checkpoints, switches and the images no other session keeps; the evidence rows that name it stay (they are the chained record)')
    .argument('<id>', 'session id or name')
    .addHelpText('after', '\nExample:\n  $ syndicate session delete triage --json')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextFor(command);
      try {
        const { deleteSession } = await import('../../sessions/index.js');
        const deleted = deleteSession(await context.store({ existing: true }), id);
        const { output } = context;
        output.result({ ...deleted }, () => {
          const { session: gone } = deleted;
          output.line(
            `deleted session ${gone.id}${gone.name === null ? '' : ` (${gone.name})`}: ${counted(deleted.messages, 'message')}, ` +
              `${counted(deleted.checkpoints, 'checkpoint')}, ${deleted.switches} switch${deleted.switches === 1 ? '' : 'es'}` +
              `${deleted.images === 0 ? '' : `, ${counted(deleted.images, 'stored image')} no other session keeps`}`,
          );
          output.line(
            deleted.evidenceKept === 0
              ? 'no evidence row names it'
              : output.forHome(`${counted(deleted.evidenceKept, 'evidence row')} naming it ${deleted.evidenceKept === 1 ? 'stays' : 'stay'}: the chained record, with the verbatim prompts and answers, until \`evidence prune\` (\`syndicate evidence list --session ${gone.id}\`)`),
          );
        });
      } finally {
        context.close();
      }
    });

  return session;
}

/** The effective policy of the command's home (`auto` sessions need it for their envelope). */
async function policyOf(context: CommandContext) {
  const { loadPolicy } = await import('../../policy/load.js');
  return loadPolicy(context.home.policyPath);
}

function activeLabel(session: Session): string {
  return session.active.kind === 'auto' ? 'auto' : `${session.active.providerId}:${session.active.model}`;
}

function envelopeLabel(session: Session, output: Output): string {
  const approved = `≤ ${session.envelope.maxCapability}`;
  return session.envelope.state === 'approved' ? approved : `${approved}, ${output.color.red('invalidated')}`;
}

/** `turn 1 ("What is…")`, one per dropped turn. */
export function describeDroppedTurns(turns: readonly DroppedTurn[]): string[] {
  return turns.map((turn) => `turn ${turn.turn} (messages ${turn.seqs.join(', ')}): "${turn.excerpt}"${turn.reason === 'images' ? ' (has images)' : ''}`);
}

function printDetail(output: Output, detail: SessionDetail): void {
  output.line(`session ${detail.id}${detail.name === null ? '' : ` (${detail.name})`}`);
  output.line(`model     ${activeLabel(detail)}`);
  output.line(`envelope  ${envelopeLabel(detail, output)}${detail.envelope.invalidatedReason === undefined ? '' : `: ${detail.envelope.invalidatedReason}`}`);
  if (detail.envelope.state === 'invalidated') output.line(output.color.dim(output.forHome(`          approve it with: \`syndicate session approve ${detail.id}\``)));
  output.line(`started   ${detail.createdAt}, updated ${detail.updatedAt}`);
  if (detail.systemPrompt !== null) output.line(`system    ${detail.systemPrompt}`);
  output.line();
  if (detail.messages.length === 0) output.line('no messages yet');
  const switchNumbers = new Map(detail.switches.map((item) => [item.id, item.number]));
  for (const message of detail.messages) {
    const who = message.role === 'user' ? 'user' : `assistant (${message.providerId ?? '?'}:${message.model ?? '?'}, evidence ${message.evidenceId ?? '-'})`;
    const droppedBy = message.droppedBySwitch === null ? undefined : (switchNumbers.get(message.droppedBySwitch) ?? `#${message.droppedBySwitch}`);
    const dropped = droppedBy === undefined ? '' : output.color.yellow(` [dropped by switch ${droppedBy}]`);
    const marked = message.sensitivity === null ? '' : ` [marked ${message.sensitivity}]`;
    output.line(`#${message.seq} turn ${message.turn} ${who}${marked}${dropped}`);
    for (const image of message.images) output.line(`  [image ${image.mediaType}, ${counted(image.size, 'byte')}, sha256 ${image.sha256}]`);
    if (message.unreadableImages !== undefined) output.line(output.color.yellow(`  [images unreadable, stored as ${JSON.stringify(message.unreadableImages)}]`));
    output.line(`  ${message.text.replace(/\n/g, '\n  ')}`);
  }
  output.line();
  output.table(
    ['checkpoint', 'approved up to', 'reason', 'at'],
    detail.checkpoints.map((checkpoint) => [String(checkpoint.number), checkpoint.maxCapability, checkpoint.reason, checkpoint.approvedAt]),
  );
  if (detail.switches.length > 0) {
    output.line();
    output.table(
      ['switch', 'to', 'class', 'window', 'dropped turns', 'envelope', 'at'],
      detail.switches.map((item) => [
        String(item.number),
        `${item.to.providerId}:${item.to.model}`,
        item.to.capabilityClass,
        String(item.to.contextWindow),
        item.droppedTurns.length === 0 ? '-' : item.droppedTurns.map((turn) => turn.turn).join(', '),
        item.invalidatedEnvelope ? 'invalidated' : 'kept',
        item.switchedAt,
      ]),
    );
  }
}
