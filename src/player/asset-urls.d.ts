/** A file the page's build copies beside its scripts, imported as its URL (Vite's `?url`). */
declare module '*?url' {
  const url: string;
  export default url;
}
