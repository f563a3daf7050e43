import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { unreadableInputFile } from '../../../src/validation/input-file.js';

describe('unreadableInputFile', () => {
  it('is exit 3 with the reason in the message and a hint per reason; a path in a command is one shell word', () => {
    const denied = unreadableInputFile('/tmp/my home/policy.yaml', 'EACCES');
    expect(denied).toBeInstanceOf(InvalidInputError);
    expect(denied.exitCode).toBe(3);
    expect(denied.message).toBe('cannot read /tmp/my home/policy.yaml: permission denied');
    expect(denied.hint).toBe("let this user read it: `ls -l '/tmp/my home/policy.yaml'` shows its owner and mode");
    expect(unreadableInputFile('p.yaml', 'ENOENT')).toMatchObject({ message: 'cannot read p.yaml: no such file', hint: 'check the path; a relative one is read from the current directory' });
    expect(unreadableInputFile('dir', 'EISDIR', 'pass the file inside it')).toMatchObject({ message: 'cannot read dir: is a directory', hint: 'pass the file inside it' });
    expect(unreadableInputFile('x', 'EIO')).toMatchObject({ message: 'cannot read x: EIO', hint: 'check the path and the file permissions' });
  });
});
