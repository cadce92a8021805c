/* For tsc: what Vite turns these imports into. */
declare module '*.vue' {
  const component: object;
  export default component;
}
declare module '*.css?inline' {
  const css: string;
  export default css;
}
