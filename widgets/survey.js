/* Flipfunnel survey widget, /widgets/v1/survey.js, loaded by loader.js. No dependency.
   The server decides whether to ask (GET /w/v1/eligibility) and sends every text; this
   renders it in an open Shadow DOM (our CSS cannot leak out, the page's cannot leak in),
   as a modal dialog (top layer, focus trap, Escape declines, focus restored) or inline.
   Text goes in with textContent only. Theming: --ff-accent, --ff-on-accent, --ff-bg,
   --ff-text, --ff-font, --ff-radius, --ff-position (bottom-right, bottom-left, top-right,
   top-left, center). Storage holds one thing only: answers whose submit failed, retried
   on the next page load with the same display token (so the server never duplicates). */
(function (w, d) {
  var hub = w.flipfunnel && w.flipfunnel.hub;
  if (!hub || hub.handlers.survey) return;
  var STORE = 'flipfunnel:retry', sheet, busy, open, shown, lastUrl, timer;
  var CSS =
    ':host{all:initial!important;display:block!important;--a:var(--ff-accent,#4f46e5);' +
    '--o:var(--ff-on-accent,#fff);--b:var(--ff-bg,#fff);--t:var(--ff-text,#1f2937);' +
    '--r:var(--ff-radius,12px)}' +
    '*{box-sizing:border-box}[hidden]{display:none!important}' +
    'dialog{position:fixed;inset:auto 16px 16px auto;margin:0;width:380px;' +
    'max-width:calc(100vw - 32px);max-height:calc(100vh - 32px);overflow:auto;' +
    'padding:20px;border:1px solid rgba(0,0,0,.1);border-radius:var(--r);background:var(--b);' +
    'color:var(--t);font:400 14px/1.45 var(--ff-font,system-ui,-apple-system,"Segoe UI",' +
    'Roboto,sans-serif);text-align:left;box-shadow:0 10px 30px rgba(0,0,0,.2)}' +
    'dialog::backdrop{background:rgba(0,0,0,.15)}' +
    '[data-pos$=left]{left:16px;right:auto}[data-pos^=top]{top:16px;bottom:auto}' +
    '[data-pos=center]{inset:0;margin:auto;height:fit-content}' +
    '.in{position:relative;inset:auto;width:auto;max-width:none;box-shadow:none}' +
    '@media (max-width:480px){dialog:not(.in){left:8px;right:8px;width:auto;max-width:none}}' +
    '@media (prefers-reduced-motion:no-preference){dialog{animation:ff .2s ease-out}}' +
    '@keyframes ff{from{opacity:0;transform:translateY(8px)}}' +
    'p{margin:0 0 12px}.q{font-weight:600;font-size:15px;padding-right:28px}' +
    'button,textarea,input{font:inherit;color:inherit;margin:0}' +
    'button{cursor:pointer;border-radius:calc(var(--r)/2);padding:8px 14px;' +
    'border:1px solid rgba(0,0,0,.25);background:transparent}' +
    'button:focus-visible,textarea:focus-visible,input:focus-visible,[tabindex]:focus-visible' +
    '{outline:2px solid var(--a);outline-offset:2px}' +
    '.s{display:flex;gap:4px}.s button{flex:1 1 0;min-width:0;padding:8px 0;text-align:center}' +
    '.s button:hover{border-color:var(--a)}' +
    '.s [aria-checked=true],.p{background:var(--a);border-color:var(--a);color:var(--o)}' +
    '.p{font-weight:600}.e{display:flex;justify-content:space-between;gap:8px;' +
    'margin:6px 0 16px;font-size:12px;opacity:.75}.e span:last-child{text-align:right}' +
    '.a{display:flex;gap:8px;align-items:center;margin-top:12px}' +
    '.x{position:absolute;top:8px;right:8px;width:32px;height:32px;padding:0;border:0;' +
    'font-size:22px;line-height:1}' +
    'textarea{display:block;width:100%;min-height:80px;padding:8px;resize:vertical;' +
    'border:1px solid rgba(0,0,0,.25);border-radius:calc(var(--r)/2);background:transparent}' +
    'input{flex:1;min-width:0;padding:8px;border:1px solid rgba(0,0,0,.25);' +
    'border-radius:calc(var(--r)/2);background:transparent}' +
    '.err{color:#b91c1c;margin:8px 0 0}h2{font-size:16px;margin:0 0 8px;outline:0}';

  // --- small helpers -------------------------------------------------------------------

  // An element; 'text' sets textContent, 'on<event>' adds a listener, the rest are attributes.
  function h(tag, props, kids) {
    var e = d.createElement(tag);
    for (var k in props) {
      if (k == 'text') e.textContent = props[k];
      else if (k.slice(0, 2) == 'on') e.addEventListener(k.slice(2), props[k]);
      else e.setAttribute(k, props[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  // Constructable stylesheets are not blocked by CSP style-src; else a <style nonce>.
  function style(root) {
    try {
      sheet = sheet || new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(h('style', { nonce: hub.nonce, text: CSS }));
    }
  }

  // POST to the widget API; resolves {ok, status, body}, never rejects (status 0: offline).
  function post(it, path, body) {
    return fetch(it.a + '/w/v1/' + path + '?key=' + encodeURIComponent(it.k), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () {}).then(function (j) {
        return { ok: r.ok, status: r.status, body: j || {} };
      });
    }, function () { return { status: 0, body: {} }; });
  }

  function temporary(r) { return !r.status || r.status >= 500 || r.status == 429; }

  // --- the retry queue: the only thing this widget keeps in storage ------------------------

  // Answers older than a week are dropped: their display token has expired by then.
  function stored() {
    try {
      return JSON.parse(localStorage.getItem(STORE)).filter(function (x) {
        return x.t > Date.now() - 6048e5;
      });
    } catch (e) { return []; }
  }
  function store(it, keep) {
    var list = stored().filter(function (x) { return x.d != it.d; });
    if (keep) list.push(it);
    try {
      if (list.length) localStorage.setItem(STORE, JSON.stringify(list.slice(-20)));
      else localStorage.removeItem(STORE);
    } catch (e) {}
  }

  // Sends an answer {a: api, k: key, d: display, s: score, c: comment, p: page, sent}: the
  // score (idempotent per display), then the comment. Stored first (the page may go away
  // mid-request), dropped once sent or refused for good, kept if it failed for now.
  function deliver(it) {
    store(it, 1);
    var first = it.sent ? Promise.resolve({ ok: 1, body: it.r || {} })
      : post(it, 'responses', { display: it.d, score: it.s, page: it.p });
    return first.then(function (r) {
      if (r.ok) { it.sent = 1; it.r = r.body; }
      return r.ok && it.c ? post(it, 'comments', { display: it.d, comment: it.c })
        .then(function (c) { if (c.ok) it.c = ''; return c.ok ? r : c; }) : r;
    }).then(function (r) {
      store(it, temporary(r));
      return r;
    });
  }

  // On every page load, first deliver what failed before, then ask the server.
  var retried = Promise.all(stored().map(deliver));

  // --- when to ask ---------------------------------------------------------------------------

  function check(force) {
    var c = hub.config, url = location.href;
    if (!c || !c.key || open || (shown && !force)) return;
    if (busy) { busy = 2; return; } // ask again when the current answer is in
    busy = 1;
    lastUrl = url;
    var q = { key: c.key, url: url };
    if (c.userId) { q.user_id = c.userId; q.user_hash = c.userHash || ''; }
    if (c.locale) q.locale = c.locale;
    if (c.attributes) q.attributes = JSON.stringify(c.attributes);
    fetch(hub.api + '/w/v1/eligibility?' + new URLSearchParams(q)).then(function (r) {
      return r.json();
    }).then(function (j) {
      if (j.error) console.warn('Flipfunnel: ' + j.error.message);
      // The page moved on while we asked: the answer was for another URL.
      if (j.show && !open && busy == 1 && location.href == url) render(j);
    }, function () {}).then(function () {
      var again = busy == 2;
      busy = 0;
      if (again) check(force);
    });
  }

  // Single-page apps: re-check the URL rules after route changes (debounced).
  function watch() {
    function changed() {
      clearTimeout(timer);
      timer = setTimeout(function () { if (location.href != lastUrl) check(); }, 250);
    }
    ['pushState', 'replaceState'].forEach(function (name) {
      var original = history[name];
      history[name] = function () {
        var result = original.apply(this, arguments);
        changed();
        return result;
      };
    });
    w.addEventListener('popstate', changed);
  }

  // --- the widget ------------------------------------------------------------------------------

  function render(j) {
    var c = hub.config, s = j.survey, ui = s.ui, inline = c.mode == 'inline';
    var it = { a: hub.api, k: c.key, d: j.display, p: location.href, t: Date.now() };
    var target = typeof c.target == 'string' ? d.querySelector(c.target) : c.target;
    var host = h('flipfunnel-survey'), root = host.attachShadow({ mode: 'open' });
    var opener = d.activeElement, answered, sending, score = null, radios = [];
    while (opener && opener.shadowRoot && opener.shadowRoot.activeElement) {
      opener = opener.shadowRoot.activeElement;
    }
    var body = h('div');
    var dlg = h('dialog', { 'aria-labelledby': 't', class: inline ? 'in' : '' }, [
      h('button', { class: 'x', type: 'button', 'aria-label': ui.close, text: '\u00d7',
        onclick: close }),
      body
    ]);
    style(root);
    root.appendChild(dlg);
    ((inline && target) || d.body || d.documentElement).appendChild(host);
    dlg.setAttribute('data-pos', getComputedStyle(host).getPropertyValue('--ff-position').trim());
    open = shown = 1;
    if (inline) dlg.show();
    else { dlg.setAttribute('aria-modal', 'true'); dlg.showModal(); }
    dlg.addEventListener('cancel', function (e) { e.preventDefault(); close(); });
    dlg.addEventListener('keydown', keys);
    post(it, 'displays', { display: it.d });
    hub.emit('shown', { survey: s.id });
    scoreStep();

    function step(kids, focus) {
      body.replaceChildren.apply(body, kids);
      (focus || root.getElementById('t')).focus();
    }

    function scoreStep() {
      for (var n = s.min; n <= s.max; n++) {
        radios.push(h('button', {
          type: 'button', role: 'radio', 'aria-checked': 'false', tabindex: n == s.min ? 0 : -1,
          'aria-label': ui.score_label.replace('{score}', n).replace('{max}', s.max),
          text: n, onclick: pick.bind(null, n - s.min)
        }));
      }
      var error = h('p', { class: 'err', role: 'alert' });
      step([
        h('p', { id: 't', class: 'q', text: s.question }),
        h('div', { role: 'radiogroup', 'aria-labelledby': 't', 'aria-describedby': 'lo hi',
          class: 's', onkeydown: arrows }, radios),
        h('div', { class: 'e' }, [
          h('span', { id: 'lo', text: s.low_label }), h('span', { id: 'hi', text: s.high_label })
        ]),
        h('div', { class: 'a' }, [
          h('button', { type: 'button', class: 'p', text: ui.submit, onclick: submit })
        ]),
        error
      ], radios[0]);

      // A WAI-ARIA radio group: one tab stop, arrows move and select, Home/End, Enter submits.
      function pick(i, focus) {
        radios.forEach(function (r, k) {
          r.setAttribute('aria-checked', i == k);
          r.tabIndex = i == k ? 0 : -1;
        });
        score = s.min + i;
        if (focus) radios[i].focus();
      }
      function arrows(e) {
        var k = e.key, n = radios.length, i = radios.indexOf(root.activeElement);
        var to = k == 'ArrowRight' || k == 'ArrowDown' ? (i + 1) % n
          : k == 'ArrowLeft' || k == 'ArrowUp' ? (i - 1 + n) % n
            : k == 'Home' ? 0 : k == 'End' ? n - 1 : -1;
        if (to >= 0) { e.preventDefault(); pick(to, 1); }
        if (k == 'Enter' && i >= 0) { e.preventDefault(); pick(i); submit(); }
      }
      function submit() {
        if (score == null) return radios[0].focus();
        if (sending) return; // a double click
        sending = 1;
        it.s = score;
        error.textContent = '';
        deliver(it).then(function (r) {
          sending = 0;
          if (!r.ok && !temporary(r)) { error.textContent = ui.error_retry; return; }
          // Offline: the answer waits in the retry queue; the category is known here too.
          var category = r.body.category || s.categories[score];
          answered = 1;
          hub.emit('answered', { survey: s.id, score: score, category: category });
          commentStep(category, r.body.referral);
        });
      }
    }

    function commentStep(category, referral) {
      var text = h('textarea', { id: 'c', maxlength: 5000, placeholder: ui.comment_placeholder });
      function done() {
        if (text.value.trim()) { it.c = text.value.trim(); deliver(it); }
        thanks(category, referral);
      }
      step([
        h('label', { id: 't', for: 'c', class: 'q', text: s.follow_up[category] }),
        h('p', { class: 'e', text: ui.comment_label }),
        text,
        h('div', { class: 'a' }, [
          h('button', { type: 'button', class: 'p', text: ui.send_comment, onclick: done }),
          h('button', { type: 'button', text: ui.skip, onclick: thanks.bind(null, category, referral) })
        ])
      ], text);
    }

    // A promoter whose answer carried a referral link sees it here, with a copy button.
    function thanks(category, referral) {
      var link = referral && referral.url, copy, field, text = s.thank_you[category];
      // "Thank you!" as the title, so not again at the start of the text.
      if (!text.indexOf(ui.thank_you_title)) text = text.slice(ui.thank_you_title.length);
      if (link) {
        field = h('input', { readonly: '', 'aria-labelledby': 'rt' });
        field.value = link;
        copy = h('button', { type: 'button', class: 'p', text: ui.copy_link, onclick: function () {
          var ok = function () { copy.textContent = ui.copied; };
          (navigator.clipboard ? navigator.clipboard.writeText(link) : Promise.reject())
            .then(ok, function () { field.select(); if (d.execCommand('copy')) ok(); });
        } });
      }
      step([
        h('h2', { id: 't', tabindex: -1, text: ui.thank_you_title }),
        h('p', { text: text.trim() }),
        link && h('p', { id: 'rt', class: 'q', text: ui.referral_title }),
        link && h('div', { class: 'a' }, [field, copy]),
        h('div', { class: 'a' }, [h('button', { type: 'button', text: ui.close, onclick: close })])
      ]);
    }

    // Escape closes (a decline if unanswered); Tab stays inside the modal dialog.
    function keys(e) {
      if (e.key == 'Escape') { e.preventDefault(); close(); }
      if (e.key != 'Tab' || inline) return;
      var all = [].filter.call(root.querySelectorAll('button,textarea,input'), function (x) {
        return x.tabIndex >= 0 && x.getClientRects().length;
      });
      var first = all[0], last = all[all.length - 1], at = root.activeElement;
      if (e.shiftKey ? at == first || !at : at == last) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      }
    }

    function close() {
      if (!open) return;
      open = 0;
      if (!answered) post(it, 'declines', { display: it.d });
      dlg.close();
      host.remove();
      if (opener && opener.focus) opener.focus();
      hub.emit('closed', { survey: s.id, answered: !!answered });
    }
  }

  // --- wiring --------------------------------------------------------------------------------------

  var started;
  hub.handlers.init = function () {
    retried.then(function () {
      if (!started) { started = 1; watch(); }
      if (hub.config.auto !== false) check();
    });
  };
  hub.handlers.survey = function () { retried.then(function () { check(1); }); };
  if (hub.config) hub.handlers.init();
  hub.run();
})(window, document);
