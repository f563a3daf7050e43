import { Command, Option } from 'commander';
import type { SensitivityLevel } from '../../common/vocabulary.js';
import { UsageError } from '../../errors.js';
import { contextFor } from '../context.js';
import { counted, escapeControlCharacters } from '../output.js';

interface ClassifyCommandOptions {
  explain?: boolean;
  sensitivity?: string;
  file?: string;
}

const LEVELS = ['public', 'internal', 'confidential', 'restricted'];

export function classifyCommand(): Command {
  return new Command('classify')
    .description('classify a text (the argument, `--file`, or stdin for `-` or nothing) as public, internal, confidential or restricted; secrets are printed masked')
    .argument('[text]', 'the text; `-` or nothing reads it from stdin')
    .option('--explain', 'list every finding: detector, level, location, span, masked excerpt, reason')
    .addOption(new Option('--sensitivity <level>', 'caller hint: raises the level, never lowers it').choices(LEVELS))
    .option('--file <path>', 'classify the contents of this file (`-`: stdin)')
    .addHelpText(
      'after',
      '\nExample:\n  $ syndicate classify --explain "my password is hunter2"\n  $ git diff | syndicate classify --json -\n\nExit code 0 whatever the level: classification is not a refusal.',
    )
    .action(async (argument: string | undefined, options: ClassifyCommandOptions, command: Command) => {
      if (options.sensitivity !== undefined && !LEVELS.includes(options.sensitivity)) {
        throw new UsageError(`unknown sensitivity "${options.sensitivity}"`, { hint: `use one of: ${LEVELS.join(', ')}` });
      }
      if (options.file !== undefined && argument !== undefined) {
        throw new UsageError('give the text either as an argument or with --file, not both', { hint: 'drop the argument or --file' });
      }
      const text = await readText(argument, options.file);
      if (text.trim() === '') throw new UsageError('the text is empty', { hint: 'pass the text as an argument, with --file, or on stdin' });

      const context = contextFor(command);
      const [{ loadPolicy }, { classifyText }] = await Promise.all([import('../../policy/load.js'), import('../../classify/index.js')]);
      // The policy's words and patterns; the built-in defaults only when the file does not exist.
      const policy = loadPolicy(context.home.policyPath);
      const classification = classifyText(text, {
        indicatorWords: policy.indicatorWords,
        patterns: policy.patterns,
        ...(options.sensitivity === undefined ? {} : { hint: options.sensitivity as SensitivityLevel }),
      });
      const { output } = context;
      const { level, findings, failedClosed } = classification;
      output.result({ level, findings, failedClosed }, () => {
        const colour = level === 'restricted' ? output.color.red : level === 'confidential' ? output.color.yellow : level === 'internal' ? output.color.cyan : output.color.green;
        output.line(colour(level));
        if (failedClosed) output.warn('the classifier failed closed: the text is treated as restricted (see --explain)');
        if (options.explain === true) {
          if (findings.length === 0) {
            output.line('no findings');
          } else {
            output.table(
              ['detector', 'level', 'location', 'span', 'excerpt', 'reason'],
              findings.map((finding) => [
                finding.detector,
                finding.level,
                finding.location,
                `${finding.span.start}-${finding.span.end}`,
                finding.excerpt === '' ? '-' : escapeControlCharacters(finding.excerpt),
                finding.reason,
              ]),
            );
          }
        } else if (findings.length > 0) {
          output.info(output.stderrColor.dim(`${counted(findings.length, 'finding')}; --explain lists them`));
        }
      });
    });
}

async function readText(argument: string | undefined, file: string | undefined): Promise<string> {
  const { readStdin, readTextInput } = await import('../input.js');
  if (file !== undefined) return (await readTextInput(file, '--file')).text;
  if (argument !== undefined && argument !== '-') return argument;
  return readStdin('text');
}
