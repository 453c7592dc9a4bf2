/**
 * The browser's preferred languages, matched against a track's (ISO 639-2 as MP4 and Matroska write them, or
 * BCP 47).
 */

/** ISO 639-1 codes, as browsers give languages, to the ISO 639-2 codes of tracks (T and B forms). */
const LANGUAGES: Record<string, string[]> = {
  en: ['eng'], fr: ['fra', 'fre'], de: ['deu', 'ger'], es: ['spa'], it: ['ita'], pt: ['por'], nl: ['nld', 'dut'],
  ru: ['rus'], ja: ['jpn'], zh: ['zho', 'chi'], ko: ['kor'], ar: ['ara'], hi: ['hin'], pl: ['pol'], sv: ['swe'],
  tr: ['tur'], uk: ['ukr'], cs: ['ces', 'cze'], el: ['ell', 'gre'], he: ['heb'], da: ['dan'], fi: ['fin'], no: ['nor'],
};

/** The first item in the browser's first preferred language that any item has. */
export function inLanguage<T>(items: T[], languageOf: (item: T) => string | null): T | undefined {
  for (const preferred of globalThis.navigator?.languages ?? []) {
    const primary = preferred.split('-')[0]!.toLowerCase();
    const codes = [primary, ...(LANGUAGES[primary] ?? [])];
    const found = items.find((item) => codes.includes((languageOf(item) ?? '').split('-')[0]!.toLowerCase()));
    if (found) return found;
  }
  return undefined;
}
