// Builds the Dashboard 2.0 widget (ui/) as the UMD library Dashboard loads from this package's
// /resources folder: `npm run build` runs it (scripts/build.mjs). The name and file must match the
// `node-red-dashboard-2` entry of package.json; Vue comes from the dashboard page (window.Vue).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));
const LIBRARY = 'ui-account-link';

export default defineConfig({
  root,
  publicDir: false,
  logLevel: 'warn',
  plugins: [vue()],
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: path.join(root, 'resources'),
    emptyOutDir: true,
    sourcemap: false,
    lib: {
      entry: path.join(root, 'ui/index.ts'),
      name: LIBRARY,
      formats: ['umd'],
      fileName: () => `${LIBRARY}.umd.js`,
    },
    rolldownOptions: {
      external: ['vue'],
      output: { globals: { vue: 'Vue' } },
    },
  },
});
