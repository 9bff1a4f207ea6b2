// Starts pglite-socket's server (its command-line options pass through). It dispatches CustomEvent, a global only
// from Node.js 19 on (Debian 12's nodejs is 18), so a minimal one is defined where it is missing.
if (typeof globalThis.CustomEvent !== 'function') {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, options = {}) {
      super(type, options);
      this.detail = options.detail ?? null;
    }
  };
}
await import('./node_modules/@electric-sql/pglite-socket/dist/scripts/server.js');
