/* Flipfunnel survey widget, served as /widgets/v1/survey.js and loaded by loader.js.
 *
 * The server decides whether to ask (GET /w/v1/eligibility) and sends every text; this
 * renders it in an open shadow root (our CSS cannot leak out, the page's cannot leak
 * in), as a modal dialog (top layer, focus trap, Escape declines, focus restored) or
 * inline. Text goes in as text only. Storage holds two things: answers whose submit
 * failed, sent again on the next page load with the same display token, so the server
 * never counts one twice; and, for a visitor the site does not identify, a random id,
 * so the survey's sampling draws once per visitor rather than on every page view.
 */
import * as kit from './kit.js';
import SURVEY_CSS from './survey.css';

const { element, callApi, identity, isTemporary } = kit;

const RETRY_KEY = 'flipfunnel:retry';
const ANONYMOUS_KEY = 'flipfunnel:anonymous';
const RETRY_LIMIT = 20;
// A display token expires after a week, and an answer with it then.
const RETRY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
// Routers often change the URL several times for one route change.
const ROUTE_SETTLE_MS = 250;

const hub = window.flipfunnel?.hub;
if (hub && !hub.handlers.survey) start();

function start() {
  hub.kit = kit;
  let openSurvey = null; // the survey on screen, if any
  let asking = false; // an eligibility request is on its way
  let askAgain = false; // and another was asked for meanwhile
  let askedUrl = null;
  let watching = false;
  let settleTimer;

  // Before anything else, every page load sends what failed before.
  const retried = Promise.all(storedAnswers().map(deliver));

  hub.handlers.init = () =>
    retried.then(() => {
      if (!watching) watchRoutes();
      watching = true;
      if (asksByItself()) ask();
    });
  hub.handlers.survey = () => retried.then(ask);
  hub.handlers.page = () => routeChanged(true);
  if (hub.config) hub.handlers.init();
  hub.run();

  function asksByItself() {
    return hub.config?.auto !== false;
  }

  /** Asks the server whether to show a survey here and now, and shows it if so. */
  async function ask() {
    const config = hub.config;
    if (!config?.key || openSurvey) return;
    if (asking) {
      askAgain = true; // the answer on its way is for a page we have left
      return;
    }
    asking = true;
    const url = (askedUrl = location.href);
    const query = identity(config, { url, ...anonymousId(config) });
    const answer = await callApi(hub.api, 'eligibility', query);
    asking = false;
    if (askAgain) {
      askAgain = false;
      ask();
    } else if (answer.body.show && !openSurvey && location.href === url) {
      openSurvey = showSurvey(answer.body, () => (openSurvey = null));
    }
  }

  /**
   * Single-page apps: a route change asks again (the server applies the survey's URL
   * rules and throttles), unless `auto: false`. The Navigation API tells us of every
   * change of URL; where it is missing, history.pushState and replaceState are wrapped.
   * `flipfunnel('page')` says the app showed a new page, whatever its URL.
   */
  function watchRoutes() {
    if (window.navigation) {
      navigation.addEventListener('currententrychange', () => routeChanged(false));
      return;
    }
    for (const method of ['pushState', 'replaceState']) {
      const original = history[method];
      history[method] = function (...args) {
        const result = original.apply(this, args);
        routeChanged(false);
        return result;
      };
    }
    addEventListener('popstate', () => routeChanged(false));
  }

  function routeChanged(newPage) {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      if (asksByItself() && (newPage || location.href !== askedUrl)) ask();
    }, ROUTE_SETTLE_MS);
  }

  function showSurvey(eligibility, closed) {
    const config = hub.config;
    const { survey: texts, display } = eligibility;
    const ui = texts.ui;
    const inline = config.mode === 'inline';
    const answer = {
      api: hub.api,
      key: config.key,
      display,
      page: location.href,
      time: Date.now(),
    };
    const { host, root } = kit.shadowHost('flipfunnel-survey', SURVEY_CSS, hub.nonce);
    const opener = focusedElement();
    const steps = element('div', { class: 'steps' });
    const dialog = element(
      'dialog',
      { class: inline ? 'frame inline' : 'frame', 'aria-labelledby': 'title' },
      [
        element('button', {
          type: 'button',
          class: 'close',
          'aria-label': ui.close,
          text: '\u00d7',
          onclick: close,
        }),
        steps,
      ],
    );
    let answered = false;
    let open = true;

    root.append(dialog);
    const place = inline ? kit.findElement(config.target) : null;
    (place || document.body || document.documentElement).append(host);
    dialog.dataset.position = getComputedStyle(host).getPropertyValue('--ff-position').trim();
    if (inline) {
      dialog.show();
    } else {
      dialog.setAttribute('aria-modal', 'true');
      dialog.showModal();
    }
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close();
    });
    dialog.addEventListener('keydown', onKey);
    callApi(answer.api, 'displays', { key: answer.key }, { display });
    hub.emit('shown', { survey: texts.id });
    scoreStep();
    return { close };

    function showStep(children, focus) {
      steps.replaceChildren(...children.filter(Boolean));
      (focus || root.getElementById('title')).focus();
    }

    function scoreStep() {
      const scores = [];
      for (let score = texts.min; score <= texts.max; score++) scores.push(score);
      let chosen = null;
      let sending = false;
      const radios = scores.map((score) =>
        element('button', {
          type: 'button',
          role: 'radio',
          'aria-checked': 'false',
          tabindex: score === texts.min ? '0' : '-1',
          'aria-label': ui.score_label.replace('{score}', score).replace('{max}', texts.max),
          text: score,
          onclick: () => choose(score),
        }),
      );
      const error = element('p', { class: 'error', role: 'alert' });
      showStep(
        [
          element('p', { id: 'title', class: 'question', text: texts.question }),
          element(
            'div',
            {
              role: 'radiogroup',
              'aria-labelledby': 'title',
              'aria-describedby': 'low high',
              class: `scale scale-${scores.length}`,
              onkeydown: onScaleKey,
            },
            radios,
          ),
          element('div', { class: 'ends' }, [
            element('span', { id: 'low', text: texts.low_label }),
            element('span', { id: 'high', text: texts.high_label }),
          ]),
          element('div', { class: 'actions' }, [
            element('button', {
              type: 'button',
              class: 'primary',
              text: ui.submit,
              onclick: submit,
            }),
          ]),
          error,
        ],
        radios[0],
      );

      // A WAI-ARIA radio group: one tab stop, arrows move and choose, Home and End too.
      function choose(score, focus) {
        chosen = score;
        error.textContent = '';
        radios.forEach((radio, index) => {
          const checked = scores[index] === score;
          radio.setAttribute('aria-checked', checked);
          radio.tabIndex = checked ? 0 : -1;
          if (checked && focus) radio.focus();
        });
      }

      function onScaleKey(event) {
        const last = radios.length - 1;
        const at = radios.indexOf(root.activeElement);
        const to = {
          ArrowRight: at + 1,
          ArrowDown: at + 1,
          ArrowLeft: at - 1,
          ArrowUp: at - 1,
          Home: 0,
          End: last,
        }[event.key];
        if (to !== undefined) {
          event.preventDefault();
          choose(scores[(to + radios.length) % radios.length], true);
        } else if (event.key === 'Enter' && at >= 0) {
          event.preventDefault();
          choose(scores[at]);
          submit();
        }
      }

      async function submit() {
        if (chosen === null) {
          error.textContent = ui.score_required;
          radios[0].focus();
          return;
        }
        if (sending) return; // a double click
        sending = true;
        answer.score = chosen;
        error.textContent = '';
        const result = await deliver(answer);
        sending = false;
        if (!result.ok && !isTemporary(result)) {
          error.textContent = ui.error_retry;
          return;
        }
        // Offline, the answer waits in the retry queue; the category is known here too.
        const category = result.body.category || texts.categories[chosen];
        answered = true;
        hub.emit('answered', { survey: texts.id, score: chosen, category });
        commentStep(category, result.body.referral);
      }
    }

    function commentStep(category, referral) {
      const comment = element('textarea', {
        id: 'comment',
        maxlength: '5000',
        placeholder: ui.comment_placeholder,
      });
      const send = () => {
        const text = comment.value.trim();
        if (text) answer.comment = text;
        thanksStep(category, referral, text ? deliver(answer) : Promise.resolve());
      };
      showStep(
        [
          element('label', {
            id: 'title',
            for: 'comment',
            class: 'question',
            text: texts.follow_up[category],
          }),
          element('p', { class: 'hint', text: ui.comment_label }),
          comment,
          element('div', { class: 'actions' }, [
            element('button', {
              type: 'button',
              class: 'primary',
              text: ui.send_comment,
              onclick: send,
            }),
            element('button', {
              type: 'button',
              text: ui.skip,
              onclick: () => thanksStep(category, referral, Promise.resolve()),
            }),
          ]),
        ],
        comment,
      );
    }

    // A promoter whose answer carried a referral link sees it here, the moment they are
    // happiest. Once the comment is in, the server says what else to ask (POST /asks):
    // the review ask (every respondent or none), and for promoters consent to be quoted
    // and the acts of advocacy they would do.
    function thanksStep(category, referral, commented) {
      const more = element('div');
      showStep([
        element('h2', { id: 'title', tabindex: '-1', text: ui.thank_you_title }),
        element('p', { text: texts.thank_you[category] }),
        referral?.url && kit.referralSection(referral, ui, 'h3'),
        more,
        element('div', { class: 'actions' }, [
          element('button', { type: 'button', text: ui.close, onclick: close }),
        ]),
      ]);
      commented
        .then(() => callApi(answer.api, 'asks', { key: answer.key }, { display }))
        .then((result) => result.ok && open && more.replaceChildren(...asks(result.body)));
    }

    // Each ask is a section; what it sends presents the display, and its answer replaces it.
    function asks(found) {
      const words = found.ui;
      // `shown`: the thanks to show instead of the section, then anything to add after it.
      const post = (path, body, section, shown, failed) =>
        callApi(answer.api, path, { key: answer.key }, { display, ...body }).then((result) => {
          if (!result.ok) return failed?.(result.body.error?.code);
          const [thanks, ...after] = shown;
          const done = element('p', { role: 'status', tabindex: '-1', text: thanks });
          section.replaceChildren(done, ...after.filter(Boolean));
          done.focus();
        });
      const sections = [];
      const review = found.review;
      if (review && !review.reviewed) {
        const section = element('section', { class: 'ask' }, [
          element('h3', { text: review.title }),
          element('p', { text: review.body }),
          element(
            'ul',
            {},
            review.destinations.map((site) => element('li', {}, [link(site.url, site.name)])),
          ),
        ]);
        section.append(
          element('button', {
            type: 'button',
            text: words.review_done_button,
            onclick: () => post('reviews', {}, section, [words.review_thanks]),
          }),
        );
        sections.push(section);
      }
      const quote = found.testimonial;
      if (quote) {
        const fields = {};
        const field = (name, label, value) => {
          fields[name] = element(name === 'text' ? 'textarea' : 'input', {
            id: `t-${name}`,
            maxlength: name === 'text' ? '2000' : '100',
          });
          fields[name].value = value || '';
          return [element('label', { for: `t-${name}`, class: 'hint', text: label }), fields[name]];
        };
        const consent = element('input', { type: 'checkbox', id: 't-consent' });
        const error = element('p', { class: 'error', role: 'alert' });
        const section = element('section', { class: 'ask' }, [
          element('h3', { text: quote.title }),
          ...field('text', words.testimonial_text_label, quote.text),
          ...field('display_name', words.testimonial_name_label, quote.display_name),
          ...field('role', words.testimonial_role_label),
          ...field('company', words.testimonial_company_label),
          element('p', { class: 'check' }, [
            consent,
            element('label', { for: 't-consent', text: quote.consent }),
          ]),
          error,
        ]);
        section.append(
          element('button', {
            type: 'button',
            class: 'primary',
            text: words.testimonial_submit,
            onclick: () => {
              const body = { consent: consent.checked, consent_hash: quote.consent_hash };
              for (const name in fields) body[name] = fields[name].value;
              const manage =
                found.preferences_url && link(found.preferences_url, words.withdraw_link);
              post('testimonials', body, section, [words.testimonial_thanks, manage], (code) => {
                error.textContent = /^consent/.test(code)
                  ? words.consent_required
                  : words.testimonial_incomplete;
              });
            },
          }),
        );
        sections.push(section);
      }
      const offer = found.advocate;
      if (offer) {
        const boxes = offer.acts.map(({ act, label }) => {
          const box = element('input', { type: 'checkbox', value: act });
          return [box, element('label', { class: 'check' }, [box, label])];
        });
        const section = element('section', { class: 'ask' }, [
          element('h3', { text: offer.title }),
          element('p', { text: offer.body }),
          ...boxes.map(([, label]) => label),
        ]);
        section.append(
          element('button', {
            type: 'button',
            text: words.advocate_submit,
            onclick: () => {
              const acts = boxes.filter(([box]) => box.checked).map(([box]) => box.value);
              if (acts.length) post('advocates', { acts }, section, [words.advocate_thanks]);
            },
          }),
        );
        sections.push(section);
      }
      return sections;
    }

    // Escape closes (a decline while unanswered); Tab stays inside the modal dialog.
    function onKey(event) {
      if (event.key === 'Escape') {
        event.preventDefault();
        close();
      }
      if (event.key !== 'Tab' || inline) return;
      const stops = [...root.querySelectorAll('button, textarea, input, a[href]')].filter(
        (stop) => stop.tabIndex >= 0 && stop.getClientRects().length,
      );
      const first = stops[0];
      const last = stops[stops.length - 1];
      const at = root.activeElement;
      if (event.shiftKey ? at === first || !at : at === last) {
        event.preventDefault();
        (event.shiftKey ? last : first).focus();
      }
    }

    function close() {
      if (!open) return;
      open = false;
      if (!answered) callApi(answer.api, 'declines', { key: answer.key }, { display });
      dialog.close();
      host.remove();
      opener?.focus?.();
      closed();
      hub.emit('closed', { survey: texts.id, answered });
    }
  }
}

/** A link that opens in a new tab (review sites, the preference page). */
function link(href, text) {
  return element('a', { href, target: '_blank', rel: 'noopener', text });
}

/** The focused element, looking into open shadow roots. */
function focusedElement() {
  let focused = document.activeElement;
  while (focused?.shadowRoot?.activeElement) focused = focused.shadowRoot.activeElement;
  return focused;
}

// --- storage: an anonymous visitor's id, and answers whose submit failed -------------

/**
 * `{anonymous_id}` for a visitor without `userId`: 32 random hex digits made once and
 * kept in this browser; it names no one. Where storage is refused, nothing: the
 * server then draws on every page view, as it does for any call without one.
 */
function anonymousId(config) {
  if (config.userId) return {};
  try {
    let id = localStorage.getItem(ANONYMOUS_KEY);
    if (!/^[0-9a-f]{32}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(ANONYMOUS_KEY, id);
    }
    return { anonymous_id: id };
  } catch {
    return {};
  }
}

function storedAnswers() {
  try {
    const stored = JSON.parse(localStorage.getItem(RETRY_KEY)) || [];
    return stored.filter((answer) => answer.time > Date.now() - RETRY_MAX_AGE_MS);
  } catch {
    return [];
  }
}

function storeAnswer(answer, keep) {
  const others = storedAnswers().filter((stored) => stored.display !== answer.display);
  const answers = keep ? [...others, answer].slice(-RETRY_LIMIT) : others;
  try {
    if (answers.length) localStorage.setItem(RETRY_KEY, JSON.stringify(answers));
    else localStorage.removeItem(RETRY_KEY);
  } catch {
    // Storage full or refused: the answer is only lost if this submit fails too.
  }
}

/**
 * Sends an answer `{api, key, display, score, comment, page, time}`: the score
 * (idempotent per display), then the comment. Stored first, as the page may go away
 * mid-request; dropped once sent or refused for good, kept while it fails for now.
 */
async function deliver(answer) {
  storeAnswer(answer, true);
  const query = { key: answer.key };
  let result = answer.scored
    ? { ok: true, status: 200, body: answer.scored }
    : await callApi(answer.api, 'responses', query, {
        display: answer.display,
        score: answer.score,
        page: answer.page,
      });
  if (result.ok) answer.scored = result.body;
  if (result.ok && answer.comment) {
    const commented = await callApi(answer.api, 'comments', query, {
      display: answer.display,
      comment: answer.comment,
    });
    if (commented.ok) delete answer.comment;
    else result = commented;
  }
  storeAnswer(answer, !result.ok && isTemporary(result));
  return result;
}
