/**
 * Masking for excerpts. A finding may be printed, logged and stored in evidence metadata, so
 * the excerpt of a secret, credential or personal datum never carries the whole value.
 */

const ELLIPSIS = '…';

/**
 * Keeps a few characters at each end, never more than a quarter of the value: `ghp_…3f9a`
 * (≥ 32 chars), `sk…9f` (16–31), `…` (shorter: nothing of it is shown — half of `pa55word`
 * would be a guess away from the whole). IBANs follow it too: the country code and the last two
 * characters (`DE…00`), all four of the country and check digits only from 32 characters.
 */
export function maskSecret(value: string): string {
  const length = value.length;
  if (length >= 32) return `${value.slice(0, 4)}${ELLIPSIS}${value.slice(-4)}`;
  if (length >= 16) return `${value.slice(0, 2)}${ELLIPSIS}${value.slice(-2)}`;
  return ELLIPSIS;
}

/** Digits-only personal numbers (cards, SSNs): only the last four digits are shown. */
export function maskNumber(value: string): string {
  // Read from the end, not every digit copied out: a text of records masks a number every few dozen characters.
  let last = '';
  for (let index = value.length - 1; index >= 0 && last.length < 4; index -= 1) {
    const code = value.charCodeAt(index);
    if (code >= 48 && code <= 57) last = value[index] + last;
  }
  return `${ELLIPSIS}${last}`;
}

/** `alice.smith@example.com` -> `a…@example.com`: the domain says little about the person. */
export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return maskSecret(value);
  return `${value.slice(0, 1)}${ELLIPSIS}${value.slice(at)}`;
}

/**
 * A home path names its user and points at private files: only the home directory it starts in
 * (`/home/`, `C:\Users\`, `~/`, as the detector found it) is shown, as in `/home/…`.
 */
export function maskPath(homeDirectory: string): string {
  return `${homeDirectory}${ELLIPSIS}`;
}

/** Non-secret excerpts (indicator words, operator patterns below confidential) are shown, but long ones are shortened. */
export function shorten(value: string, maximum = 80): string {
  const singleLine = value.replace(/\s+/g, ' ');
  if (singleLine.length <= maximum) return singleLine;
  return `${singleLine.slice(0, maximum - 1)}${ELLIPSIS}`;
}
