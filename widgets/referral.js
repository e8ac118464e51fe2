/* Flipfunnel referral widget, /widgets/v1/referral.js, loaded by loader.js on the first
   flipfunnel('referral', element). Shows the identified user's link (GET /w/v1/referral,
   which needs a valid user hash), a copy button, share links and their status.
   Open Shadow DOM, text through textContent only, same theming as the survey widget. */
(function (w, d) {
  var hub = w.flipfunnel && w.flipfunnel.hub;
  if (!hub || hub.handlers.referral) return;
  // Words used when the answer carries no `ui` of its own (title and body come with it).
  var UI = {
    referral_title: 'Share with a friend', copy_link: 'Copy link', copied: 'Copied!',
    share_email: 'Email', share_x: 'X', share_linkedin: 'LinkedIn', share_whatsapp: 'WhatsApp',
    status_clicks: 'Clicks', status_signups: 'Sign-ups', status_conversions: 'Purchases',
    status_rewards_pending: 'Rewards pending', status_rewards_approved: 'Rewards approved'
  };
  var CSS =
    ':host{all:initial!important;display:block!important}' +
    '*{box-sizing:border-box}' +
    'section{padding:16px;border:1px solid rgba(0,0,0,.1);border-radius:var(--ff-radius,12px);' +
    'background:var(--ff-bg,#fff);color:var(--ff-text,#1f2937);text-align:left;' +
    'font:400 14px/1.45 var(--ff-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif)}' +
    'h2{font-size:16px;margin:0 0 8px}p{margin:0 0 12px}' +
    '.row{display:flex;gap:8px;margin-bottom:12px}' +
    'input,button{font:inherit;color:inherit;margin:0;border-radius:calc(var(--ff-radius,12px)/2)}' +
    'input{flex:1;min-width:0;padding:8px;border:1px solid rgba(0,0,0,.25);background:transparent}' +
    'button{cursor:pointer;padding:8px 14px;font-weight:600;border:1px solid var(--ff-accent,#4f46e5);' +
    'background:var(--ff-accent,#4f46e5);color:var(--ff-on-accent,#fff)}' +
    ':focus-visible{outline:2px solid var(--ff-accent,#4f46e5);outline-offset:2px}' +
    'ul{display:flex;flex-wrap:wrap;gap:8px 16px;list-style:none;margin:0 0 12px;padding:0}' +
    'a{color:var(--ff-accent,#4f46e5)}' +
    'dl{display:grid;grid-template-columns:repeat(auto-fit,minmax(90px,1fr));gap:8px;margin:0}' +
    'dt{font-size:12px;opacity:.75}dd{margin:0;font-size:18px;font-weight:600}';

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

  function mount(target) {
    var c = hub.config || {}, q = { key: c.key };
    target = typeof target == 'string' ? d.querySelector(target) : target;
    if (!target || !c.key) return;
    if (c.userId) { q.user_id = c.userId; q.user_hash = c.userHash || ''; }
    if (c.locale) q.locale = c.locale;
    fetch(hub.api + '/w/v1/referral?' + new URLSearchParams(q)).then(function (r) {
      return r.json();
    }).then(function (j) {
      if (j.error) console.warn('Flipfunnel: ' + j.error.message);
      else if (j.url) render(target, j);
    }, function () {});
  }

  // A share entry is a ready URL, or a text we build the platform's share URL from.
  function shareUrl(name, value, url, title) {
    var e = encodeURIComponent, text = value || '';
    if (/^(https:|mailto:)/.test(text)) return text;
    return {
      email: 'mailto:?subject=' + e(title) + '&body=' + e(text + ' ' + url),
      x: 'https://twitter.com/intent/tweet?text=' + e(text) + '&url=' + e(url),
      linkedin: 'https://www.linkedin.com/sharing/share-offsite/?url=' + e(url),
      whatsapp: 'https://wa.me/?text=' + e(text + ' ' + url)
    }[name];
  }

  // Rewards come as counts (rewards_pending) or as sums per kind and currency (rewards: [...]).
  function rewards(status, state) {
    if (status['rewards_' + state] != null) return status['rewards_' + state];
    return (status.rewards || []).filter(function (r) { return +r[state]; }).map(function (r) {
      try {
        return new Intl.NumberFormat(hub.config.locale, { style: 'currency', currency: r.currency })
          .format(r[state]);
      } catch (e) { return r[state] + ' ' + (r.currency || ''); } // a bad locale, no currency
    }).join(', ') || 0;
  }

  function render(target, j) {
    var ui = {}, k, share = j.share || {}, status = j.status || {}, copy;
    for (k in UI) ui[k] = (j.ui && j.ui[k]) || UI[k];
    ui.referral_title = j.title || ui.referral_title;
    status.rewards_pending = rewards(status, 'pending');
    status.rewards_approved = rewards(status, 'approved');
    var host = h('flipfunnel-referral'), root = host.attachShadow({ mode: 'open' });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(h('style', { nonce: hub.nonce, text: CSS }));
    }
    var field = h('input', { readonly: '', 'aria-labelledby': 'rt' });
    field.value = j.url;
    copy = h('button', { type: 'button', text: ui.copy_link, onclick: function () {
      var ok = function () { copy.textContent = ui.copied; };
      (navigator.clipboard ? navigator.clipboard.writeText(j.url) : Promise.reject())
        .then(ok, function () { field.select(); if (d.execCommand('copy')) ok(); });
    } });
    root.appendChild(h('section', { 'aria-labelledby': 'rt' }, [
      h('h2', { id: 'rt', text: ui.referral_title }),
      j.body && h('p', { text: j.body }),
      h('div', { class: 'row' }, [field, copy]),
      h('ul', {}, ['email', 'x', 'linkedin', 'whatsapp'].map(function (name) {
        return h('li', {}, [h('a', {
          href: shareUrl(name, share[name], j.url, ui.referral_title),
          target: '_blank', rel: 'noopener noreferrer', text: ui['share_' + name]
        })]);
      })),
      h('dl', {}, ['clicks', 'signups', 'conversions', 'rewards_pending', 'rewards_approved']
        .filter(function (name) { return name in status; }).map(function (name) {
        return h('div', {}, [
          h('dt', { text: ui['status_' + name] }), h('dd', { text: status[name] || 0 })
        ]);
      }))
    ]));
    target.replaceChildren(host);
  }

  hub.handlers.referral = function (args) { mount(args[1]); };
  hub.run();
})(window, document);
