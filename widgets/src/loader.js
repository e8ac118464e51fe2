/* Flipfunnel loader, served as /widgets/v1/loader.js (the snippet is in widgets/README.md).
 *
 * Keeps the flipfunnel(...) calls made before it loaded and runs them in order once
 * their widget is there. Loads survey.js at once, referral.js on the first
 * flipfunnel('referral', element) and wall.js on the first flipfunnel('wall', element),
 * asynchronously, from its own folder, with its nonce, and in that order (survey.js
 * carries the kit the others use).
 */
const script = document.currentScript;
const stub = window.flipfunnel;
if (script && !stub?.hub) install(); // loaded twice: the first one stays

function install() {
  // The other scripts' content hashes, filled in as the server serves this file.
  const VERSIONS = { survey: '__SURVEY__', referral: '__REFERRAL__', wall: '__WALL__' };
  const folder = script.src.slice(0, script.src.lastIndexOf('/') + 1);
  const listeners = {};
  const loaded = new Set();
  let calls = [...(stub?.q || [])];
  let running = false;

  // What the loader shares with the widget scripts.
  const hub = {
    api: (script.dataset.api || new URL(script.src).origin).replace(/\/+$/, ''),
    nonce: script.nonce || '',
    config: null, // the settings of flipfunnel('init', {...})
    handlers: {}, // command -> function(args), added by the widget scripts
    emit(event, detail) {
      for (const listener of listeners[event] || []) {
        try {
          listener(detail);
        } catch (error) {
          setTimeout(() => {
            throw error; // the page's own bug: reported, but it stops no other listener
          });
        }
      }
    },
    run,
  };

  function load(name) {
    if (loaded.has(name)) return;
    loaded.add(name);
    const tag = document.createElement('script');
    tag.async = false; // fetched at once, run in the order they were added
    tag.src = `${folder}${name}.js?v=${VERSIONS[name]}`;
    tag.nonce = hub.nonce;
    document.head.append(tag);
  }

  /** Whether the call is done; a call whose widget is not loaded yet waits. */
  function perform(args) {
    const [command, value, listener] = args;
    if (command === 'on') {
      (listeners[value] ||= []).push(listener);
      return true;
    }
    if (command === 'init') {
      hub.config = value || {};
      hub.nonce = hub.config.nonce || hub.nonce;
    }
    if (command === 'referral' || command === 'wall') load(command);
    const handler = hub.handlers[command];
    handler?.(args);
    return Boolean(handler) || command === 'init';
  }

  // Runs every waiting call that can run now, in order; a call made meanwhile joins the queue.
  function run() {
    if (running) return;
    running = true;
    const waiting = [];
    while (calls.length) {
      const args = calls.shift();
      if (!perform(args)) waiting.push(args);
    }
    calls = waiting;
    running = false;
  }

  window.flipfunnel = function flipfunnel(...args) {
    calls.push(args);
    run();
  };
  window.flipfunnel.hub = hub;
  load('survey'); // first: the queued calls may load the others
  run();
}
