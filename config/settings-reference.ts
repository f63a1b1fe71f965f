import { settingMeta, settingsShape, type SettingName } from './schema.ts';

export { formatConfigCheck } from './format-config-check.ts';

/**
 * docs/SETTINGS.md, rendered from the schema: one row per setting (variable | meaning | default).
 * `npx gateway config docs` prints it; tests/config.test.ts fails when the file differs.
 */
export function renderSettingsReference(): string {
  const rows = (Object.keys(settingsShape) as SettingName[]).map((name) => {
    const meta = settingMeta(name);
    const fallback = meta.default === undefined ? (meta.defaultText ?? 'none') : `\`${meta.default}\``;
    return `| \`${name}\` | ${cell(meta.description)} | ${cell(fallback)} |`;
  });
  return [
    '<!-- Generated from config/schema.ts by `npx gateway config docs`; tests/config.test.ts keeps it in sync. Do not edit. -->',
    '# Settings',
    '',
    'Every setting is an environment variable. The same names may be given in a JSON or YAML file',
    'named by `GATEWAY_CONFIG` (strings, numbers, or lists for the comma-separated settings); the',
    'environment wins over the file. An empty value counts as unset. A name starting with `GATEWAY_`',
    'or `UPSTREAM_` that is not listed here is refused, as is any unknown name in the file.',
    '`npx gateway config check` reports every problem at once, one line each; secret values are',
    'never printed.',
    '',
    '| variable | meaning | default |',
    '| --- | --- | --- |',
    ...rows,
    '',
    ...LIMITS_MODEL,
    '',
  ].join('\n');
}

/** How the four limit settings work together (they make sense only as one model). */
const LIMITS_MODEL = [
  '## How the limits work',
  '',
  'Successful requests are never counted: an office of thousands behind one NAT signing in, or an',
  'app server refreshing a thousand tokens a second from one address, never meets a limit. What is',
  'counted, in fixed windows shared by every instance through the store:',
  '',
  '- failures that guessing produces: a failed client authentication or an invalid authorization',
  '  code, against the client at that address (`GATEWAY_CLIENT_FAILURE_LIMIT`) and against the',
  '  address (`GATEWAY_ADDRESS_FAILURE_LIMIT`); a bad or replayed `state` at a sign-in callback and a',
  '  refused registration, against the address. Refresh tokens that no longer work are not counted.',
  '  Past a limit, that client at that address, or that address, is refused with 429 and',
  '  `Retry-After` until its `GATEWAY_FAILURE_WINDOW` ends (everywhere but `/oauth2/auth`);',
  '- sign-in steps that write to the store for a caller nobody has authenticated yet, against the',
  '  address (`GATEWAY_SIGN_IN_LIMIT` a minute). An authorization request is at most 2 KiB of',
  '  parameters and an unfinished sign-in is kept at most 10 minutes, so one address adds at most',
  '  about 4 MiB a minute to the store at the default. A step a browser says is no navigation (an',
  '  `<img>` another site planted) starts nothing and is not counted;',
  '- clients registered, against the address (`GATEWAY_REGISTRATION_LIMIT` an hour), each at most',
  '  16 KiB of metadata.',
  '',
  "A callback counts as a failure only when it carried this browser's sign-in cookie: another",
  "site can make its visitors' browsers send junk callbacks, and must not lock their address out.",
  '',
  'Addresses are the ones the trusted proxies report (`GATEWAY_TRUSTED_PROXIES`), IPv6 by its /64.',
  "The gateway's own in-process calls are never counted. A refusal is an audit event",
  '(`limit.refused`) and a metric (`gateway_limit_refusals_total{limit}`). For a raw request rate',
  'per address, use your proxy (nginx `limit_req`).',
];

/** A table cell: a `|` would end the cell early. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
