import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';

/**
 * `network.internal-host` and `network.private-address`: names under the zones that never resolve
 * publicly and addresses of private networks, used as hosts, say how the operator's network is laid
 * out: internal. Loopback, names the same on every machine, and code's names that end like a zone
 * are not.
 */

const OPTIONS = { indicatorWords: [], patterns: [] };

function networkFindings(text: string): { detector: string; matched: string; excerpt: string; level: string }[] {
  const result = classifyText(text, OPTIONS);
  expect(result.failedClosed).toBe(false);
  return result.findings
    .filter((finding) => finding.detector.startsWith('network.'))
    .map((finding) => ({ detector: finding.detector, matched: text.slice(finding.span.start, finding.span.end), excerpt: finding.excerpt, level: finding.level }));
}

describe('internal host names', () => {
  it.each([
    ['connect to db1.prod.corp on the usual port', 'db1.prod.corp', '….corp'],
    ['the wiki is at wiki.intranet now', 'wiki.intranet', '….intranet'],
    ['ping router.home.arpa', 'router.home.arpa', '….home.arpa'],
    ['curl https://grafana.lan/d/abc', 'grafana.lan', '….lan'],
    ['open http://nas.local:5000 in a browser', 'nas.local', '….local'],
    ['DATABASE_HOST=pg-main.internal:5432', 'pg-main.internal', '….internal'],
    ['ssh deploy@bastion.internal', 'bastion.internal', '….internal'],
    ['\\\\files.lan\\share\\q3.xlsx', 'files.lan', '….lan'],
    ['instance ip-10-0-1-5.ec2.internal is unhealthy', 'ip-10-0-1-5.ec2.internal', '….internal'],
    ['my-svc.my-namespace.svc.cluster.local answers', 'my-svc.my-namespace.svc.cluster.local', '….local'],
    // Two labels or more before an ambiguous zone, standing in a sentence as a host does.
    ['connect to db.prod.internal and run the migration', 'db.prod.internal', '….internal'],
    ['the service api.svc.cluster.local answers slowly', 'api.svc.cluster.local', '….local'],
    ['backups go to (nas.home.lan).', 'nas.home.lan', '….lan'],
    ['is the primary "db.prod.internal"?', 'db.prod.internal', '….internal'],
    // Zones in capitals or mixed case.
    ['CONNECT TO DB.PROD.INTERNAL FIRST', 'DB.PROD.INTERNAL', '….INTERNAL'],
    ['the Kerberos realm is ACME.CORP', 'ACME.CORP', '….CORP'],
    ['connect to db1.prod.Corp on the usual port', 'db1.prod.Corp', '….Corp'],
    ['ssh deploy@Bastion.Internal', 'Bastion.Internal', '….Internal'],
    ['curl https://Grafana.LAN/d/abc', 'Grafana.LAN', '….LAN'],
  ])('%s', (text, name, excerpt) => {
    expect(networkFindings(text)).toEqual([{ detector: 'network.internal-host', matched: name, excerpt, level: 'internal' }]);
    expect(classifyText(text, OPTIONS).level).not.toBe('public');
  });

  it.each([
    ['a Java package', 'import com.acme.internal.Parser; package org.example.internal;'],
    ['a property access', 'if (this.lan) return options.local || state.internal;'],
    ['a config module and dotenv files', 'load settings.local, then .env.local and config/.env.development.local'],
    ['a file name after the zone', 'edit docker-compose.local.yml and app.corp.json'],
    ['a path', 'see /opt/app.lan and C:\\tools\\x.corp'],
    ['Docker and cloud metadata names', 'http://host.docker.internal:8080 and http://metadata.google.internal/computeMetadata/v1/'],
    ['the Kubernetes API service', 'https://kubernetes.default.svc.cluster.local:443'],
    ['loopback', 'http://localhost:3000, http://127.0.0.1:8080, http://[::1]:9000, app.localhost:5173'],
    ['a public domain', 'https://corp.example.com/ and https://example.com/internal/lan'],
    // Code's dotted names of two labels or more before an ambiguous zone.
    ['a browser extension\'s storage', 'chrome.storage.local and browser.storage.local hold the settings'],
    ['receivers', 'if (this.state.internal) return self.config.local'],
    ['a call\'s argument', 'expect(summary.requests.local).toBe(1)'],
    ['an operand', 'const total = before.requests.local + 1; policy.sensitivity.internal = ["local"]; x = a.b.local ? 1 : 2'],
    ['a returned value', 'return opts.cache.local'],
    ['an array\'s element', '[summary.requests.local, summary.requests.hosted]'],
    ['a statement', 'flags.cache.local;'],
    ['camelCase and mixed case', 'use appState.cache.local or Rails.env.local? here'],
    ['the cluster domain every Kubernetes cluster has', 'names end in svc.cluster.local by default'],
    ['.NET namespaces', 'the Microsoft.Extensions.Internal namespace; using Acme.Corp; System.Net.Local'],
    ['one label before an ambiguous zone in capitals', 'Scope.LOCAL and Visibility.INTERNAL'],
  ])('not an internal host: %s', (_name, text) => {
    expect(networkFindings(text)).toEqual([]);
  });
});

describe('private network addresses', () => {
  it.each([
    ['curl http://10.20.0.5:8080/health', '10.20.0.5', '10.…'],
    ['postgres on 172.20.0.3:5432', '172.20.0.3', '172.…'],
    ['ssh pi@192.168.1.10', '192.168.1.10', '192.…'],
    ['the tailnet node 100.101.102.103:22', '100.101.102.103', '100.…'],
    ['https://169.254.10.20/ answers', '169.254.10.20', '169.…'],
    ['http://[fd12:3456:789a::1]:8080/', '[fd12:3456:789a::1]', '[fd…]'],
    ['[fe80::1%eth0]:22', '[fe80::1%eth0]', '[fe…]'],
  ])('%s', (text, address, excerpt) => {
    expect(networkFindings(text)).toEqual([{ detector: 'network.private-address', matched: address, excerpt, level: 'internal' }]);
  });

  it.each([
    ['a version number', 'upgrade to 10.2.1.4 and then 192.168.0.1 (bare, no port)'],
    ['a public address', 'http://8.8.8.8/ and 172.32.0.3:5432 and 100.128.0.1:22'],
    ['loopback', 'http://127.0.0.1:3000 and 0.0.0.0:8080'],
    ['the cloud metadata service', 'curl http://169.254.169.254/latest/meta-data/'],
    ['an address out of range', 'http://10.0.0.256:80/'],
    ['a private IPv6 address not as a host', 'the prefix fd00::/8 and [fd12::1] alone'],
    ['a version after a package name', 'v8@10.2.154.26-node.26 and uv@10.1.2.3-beta'],
    ['a public name that starts like an address', 'https://10.10.10.10.example.com/ and //192.168.0.1.nip.io:80'],
  ])('not a private address as a host: %s', (_name, text) => {
    expect(networkFindings(text)).toEqual([]);
  });
});

describe('the level of internal network findings', () => {
  it('is internal: above public, below the confidential of personal data and home paths', () => {
    expect(classifyText('deploy to http://build.corp:8080 from 10.0.0.12:22', OPTIONS).level).toBe('internal');
    expect(classifyText('deploy to http://build.corp:8080 as jane.roe@example.com', OPTIONS).level).toBe('confidential');
  });
});
