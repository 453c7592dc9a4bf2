/** Plain names for codec strings, for messages a person reads. */
const NAMES: [RegExp, string][] = [
  [/^(avc1|avc3)/, 'H.264'],
  [/^(hvc1|hev1)/, 'HEVC'],
  [/^av01/, 'AV1'],
  [/^vp0?9/, 'VP9'],
  [/^vp0?8/, 'VP8'],
  [/^mp4a\.(6b|69)$/i, 'MP3'],
  [/^mp4a/, 'AAC'],
  [/^ac-3/, 'AC-3'],
  [/^ec-3/, 'E-AC-3'],
  [/^opus/i, 'Opus'],
  [/^flac/i, 'FLAC'],
];

export function codecName(codec: string): string {
  return NAMES.find(([re]) => re.test(codec))?.[1] ?? codec;
}
