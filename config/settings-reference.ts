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
  ].join('\n');
}

/** A table cell: a `|` would end the cell early. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
