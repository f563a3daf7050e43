/** Small helpers shared by the detectors. */

/** Every match of a global regular expression, guarded against empty matches looping forever. */
export function* matchesOf(pattern: RegExp, text: string): Generator<RegExpExecArray> {
  if (!pattern.global) throw new Error(`detector pattern ${pattern.source} must be global`);
  pattern.lastIndex = 0;
  for (;;) {
    const match = pattern.exec(text);
    if (match === null) return;
    if (match[0].length === 0) {
      pattern.lastIndex += 1;
      continue;
    }
    yield match;
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isLetter(character: string | undefined): boolean {
  return character !== undefined && /\p{L}/u.test(character);
}

function isLowerCase(character: string): boolean {
  return character !== character.toUpperCase() && character === character.toLowerCase();
}

function isUpperCase(character: string): boolean {
  return character !== character.toLowerCase() && character === character.toUpperCase();
}

/**
 * Whether `text[start, end)` is a whole word: not glued to letters on either side, except at a
 * camelCase seam (`userPassword`, `passwordHash`). Underscores, digits and punctuation separate
 * words (`DB_PASSWORD`, `password1`), so `passwordless` and `mypassword` are not the word `password`.
 */
export function isWholeWord(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  const after = text[end];
  const first = text[start] ?? '';
  const last = text[end - 1] ?? '';
  if (isLetter(before) && !(isLowerCase(before as string) && isUpperCase(first))) return false;
  if (isLetter(after) && !(isLowerCase(last) && isUpperCase(after as string))) return false;
  return true;
}

/** Mod-10 (Luhn) check over a string of digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}
