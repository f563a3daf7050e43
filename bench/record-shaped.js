// Record-shaped classifier inputs: what an agent sends when it passes a data export or a log
// through the gateway. Every record carries personal data (a phone number, an e-mail address, a
// labelled date of birth every few records), so the detectors find thousands of matches in one
// text; a detector whose cost grows with the square of its matches shows here and nowhere else.
// The same on every run (no randomness, no clock).

const FIRST = ['Jane', 'John', 'Amira', 'Kenji', 'Lucía', 'Olu', 'Priya', 'Marek', 'Sofia', 'Tom'];
const LAST = ['Roe', 'Doe', 'Haddad', 'Sato', 'García', 'Adeyemi', 'Nair', 'Nowak', 'Rossi', 'Becker'];
const PHONES = ['+1 415 555 0100', '+44 20 7946 0958', '(415) 555-0132', '415-555-0199', '020 7946 0958', '+49 30 901820'];

function pad(number, width = 2) {
  return String(number).padStart(width, '0');
}

/** Record `index`: the fields of a typical customer export. */
export function record(index) {
  const first = FIRST[index % FIRST.length];
  const last = LAST[(index * 7) % LAST.length];
  const entry = {
    id: 100000 + index,
    name: `${first} ${last}`,
    phone: PHONES[index % PHONES.length],
    email: `${first.toLowerCase()}.${last.toLowerCase()}${index}@example.com`,
    created: `2026-${pad((index % 12) + 1)}-${pad((index % 28) + 1)}T${pad(index % 24)}:${pad(index % 60)}:${pad((index * 7) % 60)}Z`,
  };
  // Every fourth record: a date of birth, labelled as exports label it.
  if (index % 4 === 0) entry.dob = `19${60 + (index % 40)}-${pad((index % 12) + 1)}-${pad((index % 28) + 1)}`;
  // Every tenth: the service that created it, by its internal URL.
  if (index % 10 === 0) entry.source = `http://crm-${index % 7}.prod.corp:8080/api/customers/${index}`;
  return entry;
}

/** `count` records as a JSON array, one record a line (what `jq -c` or an export writes). */
export function jsonRecords(count) {
  return `[\n${Array.from({ length: count }, (_, index) => JSON.stringify(record(index))).join(',\n')}\n]\n`;
}

/** The same records as CSV with a header row. */
export function csvRecords(count) {
  const lines = ['id,name,phone,email,created,dob,source'];
  for (let index = 0; index < count; index += 1) {
    const entry = record(index);
    lines.push([entry.id, `"${entry.name}"`, entry.phone, entry.email, entry.created, entry.dob ?? '', entry.source ?? ''].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** `count` lines of an application log: timestamps, levels, client addresses, internal hosts, now and then a phone number. */
export function logLines(count) {
  const lines = [];
  for (let index = 0; index < count; index += 1) {
    const time = `2026-03-${pad((index % 28) + 1)}T${pad(index % 24)}:${pad(index % 60)}:${pad((index * 13) % 60)}.${pad(index % 1000, 3)}Z`;
    const client = `${10 + (index % 3) * 82}.${index % 256}.${(index * 7) % 256}.${(index * 13) % 256}`;
    const upstream = `10.20.${index % 256}.${(index * 3) % 256}:${8000 + (index % 100)}`;
    const kind = index % 5;
    if (kind === 0) lines.push(`${time} INFO  [req ${index}] ${client} "GET /api/customers/${index} HTTP/1.1" 200 ${512 + index} upstream=${upstream} 12ms`);
    else if (kind === 1) lines.push(`${time} INFO  [req ${index}] sms sent to ${PHONES[index % PHONES.length]} for customer ${100000 + index}`);
    else if (kind === 2) lines.push(`${time} WARN  [req ${index}] slow query on db${index % 4}.prod.internal:5432 (${200 + (index % 800)} ms) from ${client}`);
    else if (kind === 3) lines.push(`${time} INFO  [req ${index}] user ${FIRST[index % FIRST.length].toLowerCase()}${index}@example.com signed in from ${client}`);
    else lines.push(`${time} DEBUG [req ${index}] cache hit ratio 0.${pad(index % 100)} after ${index % 1000} lookups, version 2.14.${index % 30}`);
  }
  return `${lines.join('\n')}\n`;
}

/** As many whole records or lines as fit in about `bytes` characters. */
export function recordShaped(kind, bytes) {
  const make = kind === 'json' ? jsonRecords : kind === 'csv' ? csvRecords : logLines;
  const perItem = make(100).length / 100;
  return make(Math.max(1, Math.round(bytes / perItem)));
}

/** The records as Python's `json.dumps(records)` writes them: one line, `", "` separators, non-ASCII as `\u` escapes. */
export function pythonJsonRecords(count) {
  const records = Array.from({ length: count }, (_, index) => record(index));
  return JSON.stringify(records).replace(/[\u0080-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/","/g, '", "').replace(/":/g, '": ');
}

/** The records as `JSON.stringify(records)` writes them: one line, no spaces. */
export function compactJsonRecords(count) {
  return JSON.stringify(Array.from({ length: count }, (_, index) => record(index)));
}
