/* Flipfunnel loader, /widgets/v1/loader.js (the snippet is in widgets/README.md).
   Keeps flipfunnel(...) calls made before it loads; loads survey.js now and referral.js
   on the first flipfunnel('referral', el), async, from its own folder, with its nonce. */
(function (w, d) {
  var me = d.currentScript, old = w.flipfunnel;
  if (!me || (old && old.hub)) return; // loaded twice: the first one stays
  var queue = (old && old.q) || [], listeners = {}, loaded = {};
  var base = me.src.slice(0, me.src.lastIndexOf('/') + 1);
  var V = {survey: '__SURVEY__', referral: '__REFERRAL__'}; // content hashes, set when served
  var hub = {
    api: (me.getAttribute('data-api') || new URL(me.src).origin).replace(/\/+$/, ''),
    nonce: me.nonce || '',
    config: null, // the settings from flipfunnel('init', {...})
    handlers: {}, // name -> function(args), added by the widget scripts
    emit: function (name, detail) {
      (listeners[name] || []).forEach(function (fn) {
        try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
      });
    },
    run: run
  };

  function load(name) {
    if (loaded[name]) return;
    var s = loaded[name] = d.createElement('script');
    s.async = true;
    s.src = base + name + '.js?v=' + V[name];
    s.nonce = hub.nonce;
    d.head.appendChild(s);
  }

  // Runs, in order, every queued call that can run now; keeps the others.
  function run() {
    queue = queue.filter(function (args) {
      var name = args[0], fn = hub.handlers[name];
      if (name == 'init') {
        hub.config = args[1] || {};
        if (hub.config.nonce) hub.nonce = hub.config.nonce;
      } else if (name == 'on') {
        (listeners[args[1]] = listeners[args[1]] || []).push(args[2]);
        return false;
      } else if (name == 'referral') load('referral');
      if (fn) fn(args);
      return !fn && name != 'init';
    });
  }

  w.flipfunnel = function () { queue.push(arguments); run(); };
  w.flipfunnel.hub = hub;
  run();
  load('survey');
})(window, document);
