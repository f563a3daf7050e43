import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellWord } from '../../../src/common/shell-word.js';

describe('shellWord', () => {
  it('leaves a plain path as it is and quotes one a shell would split or expand, so sh reads each back unchanged', () => {
    expect(shellWord('/srv/syndicate-home/policy.yaml')).toBe('/srv/syndicate-home/policy.yaml');
    expect(shellWord('/tmp/no home')).toBe("'/tmp/no home'");
    for (const path of ['/tmp/no home', "/tmp/it's", '/tmp/$HOME/*', '/tmp/a"b`c`']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellWord(path)}`], { encoding: 'utf8' })).toBe(path);
    }
  });
});
