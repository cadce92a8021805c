/* The widgets Dashboard 2.0 can import from this package's UMD build (package.json `node-red-dashboard-2`). */
export { default as UIAccountLink } from './components/UIAccountLink.vue';
