/**
 * oidc-provider builds two `Intl.ListFormat('en')` objects as it loads (lib/helpers/formatters.js:
 * "a, b, and c" in its error descriptions), and the first ListFormat of a process loads ICU's
 * locale data: 6.4 MB of resident memory for two English phrasings, about a twentieth of the
 * gateway's whole RSS at idle. The server's entry point (gateway/main.ts) loads oidc-provider
 * through {@link loadWithEnglishListFormat}, which hands it these two phrasings in plain code
 * and puts the real `Intl.ListFormat` back as soon as oidc-provider has loaded; every other
 * locale or style asked for meanwhile gets the real one. tests/english-list-format.test.ts holds
 * the phrasings to ICU's own.
 */

const REAL_LIST_FORMAT = Intl.ListFormat;
type ListType = 'conjunction' | 'disjunction';
const WORDS: Record<ListType, string> = { conjunction: 'and', disjunction: 'or' };

/** Intl.ListFormat('en', { type: 'conjunction' | 'disjunction' }) with the default long style. */
export class EnglishListFormat {
  readonly #word: string = '';

  constructor(locales?: string | readonly string[], options?: Intl.ListFormatOptions) {
    const type = options?.type ?? 'conjunction';
    const plain =
      locales === 'en' && (type === 'conjunction' || type === 'disjunction') && (options?.style ?? 'long') === 'long';
    // Anything else is ICU's: a constructor that returns an object makes `new` give that object.
    // biome-ignore lint/correctness/noConstructorReturn: the real formatter for everything else
    if (!plain) return new REAL_LIST_FORMAT(locales as string, options) as unknown as EnglishListFormat;
    this.#word = WORDS[type as ListType];
  }

  format(list: Iterable<string>): string {
    const items = [...list];
    for (const item of items) {
      if (typeof item !== 'string') throw new TypeError('Iterable yielded a value that is not a string');
    }
    if (items.length <= 1) return items[0] ?? '';
    if (items.length === 2) return `${items[0]} ${this.#word} ${items[1]}`;
    return `${items.slice(0, -1).join(', ')}, ${this.#word} ${items[items.length - 1]}`;
  }
}

/** Runs `load` (an import of oidc-provider) with {@link EnglishListFormat} as `Intl.ListFormat`. */
export async function loadWithEnglishListFormat<T>(load: () => Promise<T>): Promise<T> {
  (Intl as { ListFormat: unknown }).ListFormat = EnglishListFormat;
  try {
    return await load();
  } finally {
    (Intl as { ListFormat: unknown }).ListFormat = REAL_LIST_FORMAT;
  }
}
