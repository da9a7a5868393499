/**
 * How a receiver's URL is shown in status, errors and logs (src/url-credentials.ts, shownUrl):
 * one rule for the alert notifier and the exporters. A path of plain words shows whole; the
 * path from the first segment that may be a credential on, and the query, show as `…`.
 */
import { describe, expect, it } from 'vitest';
import { shownUrl } from '../dist/src/url-credentials.js';

describe('shownUrl', () => {
  it('shows a path of plain words whole, and cuts it at the first segment that may be a credential', () => {
    const cases: [string, string][] = [
      ['https://mimir.example/api/v1/push', 'https://mimir.example/api/v1/push'],
      ['https://otlp.example:4318/v1/metrics', 'https://otlp.example:4318/v1/metrics'],
      ['https://prometheus-prod-01.grafana.net/api/prom/push', 'https://prometheus-prod-01.grafana.net/api/prom/push'],
      ['https://user:pa55@mimir.example/tenant-1/api/v1/push?token=s3cret', 'https://mimir.example/tenant-1/api/v1/push?…'],
      ['https://x.example/', 'https://x.example/'],
      ['https://x.example/hook', 'https://x.example/hook'],
      // Keys in the path: hex, mixed case (base64), long.
      ['https://x.example/v1/metrics/0123456789abcdef0123456789abcdef', 'https://x.example/v1/metrics/…'],
      ['https://x.example/ingest/deadbeef/v1/metrics', 'https://x.example/ingest/…'],
      ['https://x.example/v1/AbCdEf123/push', 'https://x.example/v1/…'],
      ['https://x.example/v1/averyveryverylongsegmentname/push', 'https://x.example/v1/…'],
      ['https://x.example/v1/a%2Fb/push', 'https://x.example/v1/…'],
      // Chat webhooks: the token in the path or the query.
      ['https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'https://hooks.slack.com/services/…'],
      ['https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jklMNOpqr', 'https://discord.com/api/webhooks/…'],
      ['https://chat.googleapis.com/v1/spaces/AAAAxyz/messages?key=k3y&token=t0k3n', 'https://chat.googleapis.com/v1/spaces/…?…'],
    ];
    expect(cases.map(([url]) => [url, shownUrl(url)])).toEqual(cases);
  });
});
