/* Flipfunnel wall widget, served as /widgets/v1/wall.js and loaded by loader.js on the
 * first flipfunnel('wall', element, options). Shows the workspace's published
 * testimonials (GET /public/v1/testimonials: approved, consent standing) as a grid of
 * quotes in an open shadow root, every text as text only, themed like the other
 * widgets. `options`: {tag, survey, limit}. It uses the kit survey.js shares (kit.js).
 */
import WALL_CSS from './wall.css';

const hub = window.flipfunnel?.hub;
if (hub && !hub.kit) {
  console.warn('Flipfunnel: the wall widget needs survey.js, which did not load.');
} else if (hub && !hub.handlers.wall) {
  hub.handlers.wall = ([, target, options]) => mount(target, options || {});
  hub.run();
}

async function mount(target, options) {
  const { callApi, findElement } = hub.kit;
  const place = findElement(target);
  const key = hub.config?.key;
  if (!place || !key) return;
  const query = { key, limit: options.limit || 12 };
  if (options.tag) query.tag = options.tag;
  if (options.survey) query.survey_id = options.survey;
  const answer = await callApi(hub.api, '/public/v1/testimonials', query);
  const quotes = answer.body.data || [];
  if (answer.ok && quotes.length) place.replaceChildren(render(quotes));
}

function render(quotes) {
  const { element, shadowHost } = hub.kit;
  const { host, root } = shadowHost('flipfunnel-wall', WALL_CSS, hub.nonce);
  const day = new Intl.DateTimeFormat(hub.config.locale, { dateStyle: 'medium' });
  const items = quotes.map((quote) =>
    element('li', { class: quote.featured ? 'frame featured' : 'frame' }, [
      element('figure', {}, [
        element('blockquote', { text: quote.text }),
        element('figcaption', {}, [
          element('strong', { text: quote.name }),
          (quote.role || quote.company) &&
            element('span', { text: [quote.role, quote.company].filter(Boolean).join(', ') }),
          element('time', { datetime: quote.date, text: day.format(new Date(quote.date)) }),
        ]),
      ]),
    ]),
  );
  root.append(element('ul', {}, items));
  return host;
}
