import { describe, expect, it } from 'vitest';
import { classifyRequest, classifyText } from '../../../src/classify/index.js';
import { decodeForScan } from '../../../src/classify/encoded-text.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

const OPTIONS = { indicatorWords: [], patterns: [] };

describe('decodeForScan', () => {
  it('is undefined when nothing in the text decodes to something else', () => {
    expect(decodeForScan('plain text, 100% sure')).toBeUndefined();
    expect(decodeForScan('line one\\nline two\\t(tabs)')).toBeUndefined();
    // Identifiers, hashes and binary data are not read as base64 text.
    expect(decodeForScan('requestPartScans internationalization 9f86d081884c7d659a2feaa0c55ad015')).toBeUndefined();
    expect(decodeForScan(`data ${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]).toString('base64')}`)).toBeUndefined();
  });

  it('decodes percent-encoding, string escapes and base64 text, and maps a span back to the whole encoded run', () => {
    const text = 'a=%41%42 b=\\u0043\\/ c=' + Buffer.from('hello, world!!').toString('base64') + ' end';
    const decoded = decodeForScan(text);
    expect(decoded?.text).toBe('a=AB b=C/ c=hello, world!! end');
    const span = (word: string): string => {
      const start = (decoded?.text ?? '').indexOf(word);
      return text.slice(decoded?.originalStart(start), decoded?.originalEnd(start + word.length));
    };
    expect(span('AB')).toBe('%41%42');
    expect(span('B')).toBe('%41%42');
    expect(span('C/')).toBe('\\u0043\\/');
    expect(span('world')).toBe(Buffer.from('hello, world!!').toString('base64'));
    expect(span('end')).toBe('end');
    expect(decoded?.encodingsIn(0, 4)).toEqual(['percent-encoding']);
    expect(decoded?.encodingsIn(26, 30)).toEqual([]);
  });

  it('decodes \\x escapes and HTML character references, numeric and named; unknown names and non-characters stay', () => {
    expect(decodeForScan('id \\x41\\x4b and &#64;&#x40;&commat;&colon;&sol;')?.text).toBe('id AK and @@@:/');
    expect(decodeForScan('&copy; &#0; &#xD800; &#x110000;')).toBeUndefined();
    expect(decodeForScan('fish &amp; chips')?.encodingsIn(5, 6)).toEqual(['HTML character references']);
  });

  it('reads an even run of hex digits that is text as hex, not as base64', () => {
    const decoded = decodeForScan(`x ${Buffer.from('hello, hex world').toString('hex')} y`);
    expect(decoded?.text).toBe('x hello, hex world y');
    expect(decoded?.encodingsIn(2, 7)).toEqual(['hex']);
  });

  it('undoes an encoding inside another, outermost named first', () => {
    const text = `x ${Buffer.from('user%40example.org').toString('base64')} y`;
    const decoded = decodeForScan(text);
    expect(decoded?.text).toBe('x user@example.org y');
    expect(decoded?.encodingsIn(2, 18)).toEqual(['base64', 'percent-encoding']);
    expect(text.slice(decoded?.originalStart(2), decoded?.originalEnd(18))).toBe(Buffer.from('user%40example.org').toString('base64'));
  });

  it('gives the decoded spans around each run of every layer, merged, as the windows to scan', () => {
    const far = 'x'.repeat(100);
    // Layer 1 decodes the base64 (to `a%40b and more`), layer 2 the percent escape inside it: its span is carried through.
    const decoded = decodeForScan(`%41 ${far} ${Buffer.from('a%40b and more').toString('base64')} ${far} \\u0042 ${far}`);
    expect(decoded?.text).toBe(`A ${far} a@b and more ${far} B ${far}`);
    expect(decoded?.encodingsIn(104, 105)).toEqual(['base64', 'percent-encoding']);
    expect(decoded?.windows(0)).toEqual([
      { start: 0, end: 1 },
      { start: 103, end: 115 },
      { start: 217, end: 218 },
    ]);
    expect(decoded?.windows(50)).toEqual([
      { start: 0, end: 51 },
      { start: 53, end: 165 },
      { start: 167, end: 268 },
    ]);
    // Windows that overlap or touch are one.
    expect(decoded?.windows(52)).toEqual([{ start: 0, end: 270 }]);
    expect(decoded?.windows(1000)).toEqual([{ start: 0, end: 319 }]);
  });

  it('reads a base64 run glued to the end of an escape run on the next layer', () => {
    const key = Buffer.from('AKIAIOSFODNN7EXAMPLE').toString('base64');
    expect(decodeForScan(`auth%3D${key}`)?.text).toBe('auth=AKIAIOSFODNN7EXAMPLE');
  });
});

describe('classification of encoded values', () => {
  it('finds a secret a hosted model would decode, at the encoded run, saying how it was encoded', () => {
    const text = 'next=postgres%3A%2F%2Fadmin%3Ahunter2%40db.example.com%2Fprod&x=1';
    const result = classifyText(text, OPTIONS);
    expect(result.level).toBe('restricted');
    const finding = result.findings.find((found) => found.detector === 'secret.database-url');
    expect(finding?.reason).toMatch(/\(after decoding percent-encoding\)$/);
    expect(text.slice(finding?.span.start, finding?.span.end)).toBe('postgres%3A%2F%2Fadmin%3Ahunter2%40db.example.com');
    expect(finding?.excerpt).not.toContain('hunter2');
  });

  it('finds a key in a tool call\'s arguments written with a JSON escape, and one sent as base64', () => {
    const request: CanonicalRequest = {
      model: 'm',
      stream: false,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'deploy it' }] },
        { role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'deploy', arguments: '{"id":"\\u0041KIAIOSFODNN7EXAMPLE"}' }] },
        { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: `saved as ${Buffer.from('ghp_1234567890abcdefghijklmnopqrstuvwxyz').toString('base64')}` }] },
      ],
    };
    const result = classifyRequest(request, OPTIONS);
    expect(result.level).toBe('restricted');
    expect(result.findings.map((finding) => [finding.location, finding.detector])).toEqual(
      expect.arrayContaining([
        ['messages[1].toolCalls[0].arguments', 'secret.aws-access-key-id'],
        ['messages[2].content[0] (tool result)', 'secret.github-token'],
      ]),
    );
  });

  it('finds what an encoded run hides far into a long text, at the run, with the context before it', () => {
    // A tool result: source code as a JSON string, a config in it (its quotes escaped), then a percent-encoded URL.
    const source = 'const limit = items.length > 0 ? items.length : 1; // a line of code\n'.repeat(1500);
    const text = `${JSON.stringify({ content: `${source}{"api_key": "a8f5f167f44f4964e6c998dee827110c"}\n${source}` })} dsn=postgres%3A%2F%2Fadmin%3Ahunter2%40db.example.com`;
    const result = classifyText(text, OPTIONS);
    const assignment = result.findings.find((found) => found.detector === 'credential.assignment');
    expect(assignment?.reason).toMatch(/after decoding string escapes/);
    expect(assignment?.span.start).toBeGreaterThan(100_000);
    expect(text.slice(assignment?.span.start ?? 0, assignment?.span.end ?? 0)).toContain('a8f5f167f44f4964e6c998dee827110c');
    const url = result.findings.find((found) => found.detector === 'secret.database-url');
    expect(text.slice(url?.span.start ?? 0, url?.span.end ?? 0)).toBe('postgres%3A%2F%2Fadmin%3Ahunter2%40db.example.com');
    expect(result.findings.map((found) => found.excerpt).join(' ')).not.toMatch(/a8f5f167f44f4964e6c998dee827110c|hunter2/);
  });
});

describe('base64 wrapped at a fixed width (a MIME attachment, a PEM body)', () => {
  /** `content` as a mail attachment carries it: base64 in lines of 76 characters. */
  const attachment = (content: string, indent = ''): string =>
    `Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${(Buffer.from(content).toString('base64').match(/.{1,76}/g) ?? []).map((line) => `${indent}${line}`).join('\n')}\n\n-- \nsent from the archive`;

  it('decodes the block whole: a value across a line of the base64 is not cut in two', () => {
    // Each line carries 57 bytes: the key and the card number each straddle a line break at these offsets.
    for (const pad of [0, 30, 45]) {
      const content = `Notes from the migration ${'x'.repeat(pad)}, nothing else here.\nThe staging key is AKIAIOSFODNN7EXAMPLE and the card 4111 1111 1111 1111.\n`;
      const text = attachment(content);
      const decoded = decodeForScan(text);
      expect(decoded?.text, `pad ${pad}`).toContain(content);
      const detectors = classifyText(text, OPTIONS).findings.map((found) => found.detector);
      expect(detectors, `pad ${pad}`).toEqual(expect.arrayContaining(['secret.aws-access-key-id', 'pii.card']));
    }
  });

  it('decodes a block whose lines split a multi-byte character, and an indented block', () => {
    const content = `${'Grüße aus München, '.repeat(4)}Passwort: Tr0ub4dor&3xyz`;
    expect(decodeForScan(attachment(content))?.text).toContain(content);
    expect(decodeForScan(attachment(content, '    '))?.text).toContain(content);
  });

  it('leaves lines of another width, or with other text on them, to be decoded each alone', () => {
    const lines = ['QUtJQUlPU0ZPRE5ON0VYQU1QTEU=', 'aGVsbG8gd29ybGQh is a greeting'];
    expect(decodeForScan(lines.join('\n'))?.text).toBe('AKIAIOSFODNN7EXAMPLE\nhello world! is a greeting');
  });
});

describe('text a PDF\'s extraction wrapped across lines', () => {
  it('joins a line broken inside a word (the hyphen dropped) or a number (the hyphen kept; a bare break read as a space), and no other line', () => {
    expect(decodeForScan('see jane@exam-\n  ple.com')?.text).toBe('see jane@example.com');
    expect(decodeForScan('card 4111 1111 11-\r\n11 1111')?.text).toBe('card 4111 1111 11-11 1111');
    expect(decodeForScan('IBAN DE89 3704 0044 \n0532 0130 00')?.text).toBe('IBAN DE89 3704 0044 0532 0130 00');
    const decoded = decodeForScan('wrapped exam-\nple');
    expect(decoded?.encodingsIn(11, 13)).toEqual(['line wrapping']);
    const start = decoded?.text.indexOf('example') ?? -1;
    expect('wrapped exam-\nple'.slice(decoded?.originalStart(start), decoded?.originalEnd(start + 'example'.length))).toBe('exam-\nple');
    // Lines of prose and code, a list's dash, a year at the end of a line followed by words, a
    // column of figures one per line: nothing to join.
    expect(decodeForScan('first line\nsecond line\n- item\nx = a -\n  b\nin 2019\nThe end\n4111\n1111\n1111\n1111\n')).toBeUndefined();
  });

  it.each([
    ['a card number hyphenated across a line', 'Payment was made with the card 4111 1111 11-\n11 1111 on 3 March; please refund.', 'pii.card'],
    ['a card number written without spaces, hyphenated', 'Paid with card number 41111111-\n11111111 on 3 March.', 'pii.card'],
    ['a card number wrapped where a space was', 'Card: 4111 1111 1111\n1111 (Visa)', 'pii.card'],
    ['an IBAN hyphenated across a line', 'Please transfer the deposit to IBAN DE89 3704 0044 05-\n32 0130 00 before Friday.', 'pii.iban'],
    ['an IBAN wrapped where a space was', 'Please transfer the deposit to IBAN DE89 3704 0044\n0532 0130 00 before Friday.', 'pii.iban'],
    ['an IBAN with letters, hyphenated', 'IBAN: GB82 WEST 1234 5698 76-\n54 32', 'pii.iban'],
    ['an e-mail address hyphenated across a line', 'Contact: jane.roe@exam-\nple.com for details', 'pii.email'],
    ['an SSN broken after its hyphen', 'SSN 123-45-\n6789 on file', 'pii.ssn'],
    ['an AWS access key id hyphenated', 'AWS key AKIAIOSFOD-\nNN7EXAMPLE in the report', 'secret.aws-access-key-id'],
    // 16 characters of the base64 alphabet or more before the hyphen: read as a base64 run, whose hyphen it is not.
    ['an AWS access key id hyphenated after 17 of its characters', 'AWS key AKIAIOSFODNN7EXAM-\nPLE in the report', 'secret.aws-access-key-id'],
    ['a card number broken at a soft hyphen (U+00AD, what PDF text extraction keeps)', 'Card 4111 1111 11\u00ad\n11 1111 (Visa)', 'pii.card'],
    ['an IBAN broken at Unicode\'s hyphen (U+2010)', 'IBAN DE89 3704 0044 05\u2010\n32 0130 00', 'pii.iban'],
    ['an e-mail address broken at a soft hyphen', 'mail jane.roe@exam\u00ad\nple.com today', 'pii.email'],
  ])('finds %s, at the wrapped text, saying the lines were joined', (_what, text, detector) => {
    const result = classifyText(text, OPTIONS);
    const finding = result.findings.find((found) => found.detector === detector);
    expect(finding?.reason).toMatch(/\(after joining lines broken by wrapping\)$/);
    expect(text.slice(finding?.span.start ?? 0, finding?.span.end ?? 0)).toContain('\n');
    expect(result.level).not.toBe('public');
  });
});

describe('what findings of the decoded, folded and joined views show', () => {
  // Each value with the parts of it no excerpt or reason may show (masking shows at most a quarter).
  const VALUES: [string, string[]][] = [
    ['aws_access_key_id AKIAQWERTYUIOPASDFGH', ['QWERTYUIOPASDF']],
    ['postgres://admin:S3cr3tPassw0rd@db.example.com/prod', ['S3cr3t', 'Passw0rd']],
    ['{"api_key": "a8f5f167f44f4964e6c998dee827110c"}', ['f167f44f4964e6c998dee8']],
    ['my password is Tr0ub4dorXyz9', ['Tr0ub4', 'dorXyz']],
    ['card 4539 1488 0343 6467', ['4539 1488', '1488 0343']],
    ['IBAN DE89-3704-0044-0532-0130-00', ['3704-0044', '0532']],
    ['mail jane.roe.private@example.com', ['jane.roe', 'roe.private']],
    ['Authorization: Basic YWRtaW46UzNjcjN0UGFzc3cwcmQ=', ['S3cr3t', 'YWRtaW46UzNj']],
    // Basic credentials' base64 is masked as what it decodes to: its own ends are bytes of the user id and the password (`YWRt` is `adm`, `IQ==` is `!`).
    ['Authorization: Basic YWRtaW5pc3RyYXRvcjpTdXAzclMzY3JldFBhc3N3MHJkIQ==', ['YWRt', 'IQ==', 'Sup3r', 'Passw0rd']],
  ];
  const percent = (value: string): string => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  const ENCODINGS: Record<string, (value: string) => string> = {
    'as written': (value) => value,
    percent,
    'string escapes': (value) => [...value].map((character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    'HTML character references': (value) => value.replace(/[:/@ ="{}.-]/g, (character) => `&#${character.charCodeAt(0)};`),
    hex: (value) => Buffer.from(value).toString('hex'),
    'base64 of percent-encoding': (value) => Buffer.from(percent(value)).toString('base64'),
    'JSON in JSON': (value) => JSON.stringify(JSON.stringify(value)),
    'look-alike letters and dashes': (value) => value.replace(/a/g, '\u0430').replace(/-/g, '\u2011'),
  };

  it('is masked: never the value in clear, whole or split between two parts', () => {
    for (const [value, hidden] of VALUES) {
      for (const [name, encode] of Object.entries(ENCODINGS)) {
        const encoded = encode(value);
        const half = Math.floor(encoded.length / 2);
        const request: CanonicalRequest = {
          model: 'm',
          stream: false,
          messages: [
            { role: 'user', content: [{ type: 'text', text: `see ${encoded.slice(0, half)}` }] },
            { role: 'user', content: [{ type: 'text', text: `${encoded.slice(half)} ok` }] },
          ],
        };
        for (const result of [classifyText(`see ${encoded} ok`, OPTIONS), classifyRequest(request, OPTIONS)]) {
          expect(result.level, `${value} (${name})`).not.toBe('public');
          for (const finding of result.findings) for (const part of hidden) expect(`${finding.excerpt} ${finding.reason}`, `${value} (${name})`).not.toContain(part);
        }
      }
    }
  });
});
