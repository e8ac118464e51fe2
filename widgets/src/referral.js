/* Flipfunnel referral widget, served as /widgets/v1/referral.js and loaded by loader.js
 * on the first flipfunnel('referral', element). Shows the identified user's link
 * (GET /w/v1/referral, which needs a valid user hash) with its code, a copy button,
 * share links and how the advocate is doing. Open shadow root, text as text only, the
 * survey widget's theming. It uses the kit survey.js shares (see kit.js).
 */
import REFERRAL_CSS from './referral.css';

const SHARES = ['email', 'x', 'linkedin', 'whatsapp'];
const FIGURES = ['clicks', 'signups', 'conversions', 'rewards_pending', 'rewards_approved'];

const hub = window.flipfunnel?.hub;
if (hub && !hub.kit) {
  console.warn('Flipfunnel: the referral widget needs survey.js, which did not load.');
} else if (hub && !hub.handlers.referral) {
  hub.handlers.referral = ([, target]) => mount(target);
  hub.run();
}

async function mount(target) {
  const { callApi, findElement, identity } = hub.kit;
  const config = hub.config || {};
  const place = findElement(target);
  if (!place || !config.key) return;
  const answer = await callApi(hub.api, 'referral', identity(config));
  if (answer.ok && answer.body.url) place.replaceChildren(render(answer.body));
}

function render(referral) {
  const { element, referralSection, shadowHost } = hub.kit;
  const ui = referral.ui || {};
  const status = referral.status || {};
  const figures = {
    ...status,
    rewards_pending: rewards(status, 'pending'),
    rewards_approved: rewards(status, 'approved'),
  };
  const { host, root } = shadowHost('flipfunnel-referral', REFERRAL_CSS, hub.nonce);
  const shares = SHARES.map((name) =>
    element('li', {}, [
      element('a', {
        href: shareUrl(name, referral.share?.[name], referral.url, referral.title),
        target: '_blank',
        rel: 'noopener noreferrer',
        text: ui[`share_${name}`],
      }),
    ]),
  );
  const shown = FIGURES.filter((name) => name in figures).map((name) =>
    element('div', {}, [
      element('dt', { text: ui[`status_${name}`] }),
      element('dd', { text: figures[name] || 0 }),
    ]),
  );
  const section = referralSection(referral, ui, 'h2', [
    element('ul', {}, shares),
    element('dl', {}, shown),
  ]);
  section.classList.add('frame');
  root.append(section);
  return host;
}

/** A share entry is a ready https: or mailto: URL, or a text to build the platform's URL from. */
function shareUrl(name, value, url, title) {
  const text = value || '';
  if (/^(https:|mailto:)/.test(text)) return text;
  const encode = encodeURIComponent;
  return {
    email: `mailto:?subject=${encode(title)}&body=${encode(`${text} ${url}`)}`,
    x: `https://twitter.com/intent/tweet?text=${encode(text)}&url=${encode(url)}`,
    linkedin: `https://www.linkedin.com/sharing/share-offsite/?url=${encode(url)}`,
    whatsapp: `https://wa.me/?text=${encode(`${text} ${url}`)}`,
  }[name];
}

/** Rewards come as counts (`rewards_pending`) or as sums per kind and currency (`rewards`). */
function rewards(status, state) {
  if (status[`rewards_${state}`] != null) return status[`rewards_${state}`];
  const sums = (status.rewards || [])
    .filter((reward) => Number(reward[state]))
    .map((reward) => {
      try {
        const format = new Intl.NumberFormat(hub.config.locale, {
          style: 'currency',
          currency: reward.currency,
        });
        return format.format(reward[state]);
      } catch {
        return `${reward[state]} ${reward.currency || ''}`; // a bad locale, or no currency
      }
    });
  return sums.join(', ') || 0;
}
