// A single-page app: every view is rendered in the browser from index.html.
export const ssr = false;
export const prerender = false;
