/* The kit every widget shares: building elements, styling a shadow root, calling the
   widget API, and the referral link block. survey.js bundles it and hands it to the
   other widgets as `hub.kit`; the loader runs the scripts in order, so it is there
   before them and is downloaded once per page. */
import KIT_CSS from './kit.css';

export { KIT_CSS };

/**
 * An element. In `properties`, `text` sets the text (always as text, never as markup),
 * `on<event>` adds a listener and everything else is an attribute. Falsy children are
 * skipped, so optional parts can be written inline.
 */
export function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

/**
 * Styles a shadow root. A constructable stylesheet is not subject to the page's CSP
 * `style-src`; where there is none, a `<style>` with the page's nonce.
 */
export function adoptStyles(root, css, nonce) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    root.append(element('style', { nonce, text: css }));
  }
}

/** An element given as itself or as a CSS selector; null if there is none. */
export function findElement(target) {
  return typeof target === 'string' ? document.querySelector(target) : target;
}

/** A shadow host `<tag>` with an open shadow root styled with `css`. */
export function shadowHost(tag, css, nonce) {
  const host = element(tag);
  const root = host.attachShadow({ mode: 'open' });
  adoptStyles(root, KIT_CSS + css, nonce);
  return { host, root };
}

/** Who is asking, as the widget API's query parameters. */
export function identity(config, extra = {}) {
  const query = { key: config.key, ...extra };
  if (config.userId) {
    query.user_id = config.userId;
    query.user_hash = config.userHash || '';
  }
  if (config.locale) query.locale = config.locale;
  if (config.attributes) query.attributes = JSON.stringify(config.attributes);
  return query;
}

/**
 * Calls the widget API: a GET, or a POST of `body` as JSON. `path` is under /w/v1/
 * unless it starts with a slash (the wall's /public/v1/...). Resolves to
 * `{ok, status, body}` and never rejects; status 0 means the network failed. A refusal
 * is also told on the console, where the site's developer looks for it.
 */
export async function callApi(api, path, query, body) {
  const where = path[0] === '/' ? path : `/w/v1/${path}`;
  const url = `${api}${where}?${new URLSearchParams(query)}`;
  const options = body && {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
  try {
    const response = await fetch(url, options);
    const answer = (await response.json().catch(() => null)) || {};
    if (answer.error) console.warn(`Flipfunnel: ${answer.error.message}`);
    return { ok: response.ok, status: response.status, body: answer };
  } catch {
    return { ok: false, status: 0, body: {} };
  }
}

/** Whether a failed call may succeed later as it is: offline, a server error, a limit. */
export function isTemporary(result) {
  return !result.status || result.status >= 500 || result.status === 429;
}

/**
 * A promoter's referral link as a region named by its title: the whole link as text,
 * the code, a copy button, then `more` (the referral widget's share links and status).
 * `referral` is the API's `{title, body, url, code}`; `heading` the title's tag.
 */
export function referralSection(referral, ui, heading, more = []) {
  const link = element('p', { class: 'link', text: referral.url });
  const copy = element('button', {
    type: 'button',
    class: 'primary',
    text: ui.copy_link,
    onclick: () =>
      copyText(referral.url, link).then(() => {
        copy.textContent = ui.copied;
        copy.focus();
      }),
  });
  const code = element('span', { class: 'code', text: referral.code });
  return element('section', { 'aria-labelledby': 'referral-title' }, [
    element(heading, { id: 'referral-title', text: referral.title }),
    referral.body && element('p', { text: referral.body }),
    link,
    element('p', {}, [ui.referral_code_label, ' ', code]),
    element('div', { class: 'actions' }, [copy]),
    ...more,
  ]);
}

/**
 * Copies `text` to the clipboard. Without the clipboard API (a page served over plain
 * http) or when it refuses, through a selected, briefly added field beside `place`.
 */
function copyText(text, place) {
  const byField = () => {
    const field = element('textarea', { readonly: '', class: 'offscreen' });
    field.value = text;
    place.after(field);
    field.select();
    const copied = document.execCommand('copy');
    field.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error('not copied'));
  };
  return navigator.clipboard ? navigator.clipboard.writeText(text).catch(byField) : byField();
}
