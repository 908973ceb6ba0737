/*! freshet recent-posts widget. No dependencies, no build step.
 *
 * One line renders the list where the tag is:
 *   <script src="https://HOST/widget.js" data-src="https://HOST/recent.json"
 *           data-limit="5" async></script>
 * or, with the script anywhere on the page, into every
 *   <div data-freshet-recent data-src="..." data-limit="5"></div>
 * Attributes: data-src (default: recent.json next to widget.js), data-limit
 * (1..50, default 5), data-title (default "Recent Posts"), data-images="true"
 * (thumbnails), and on the script only data-css="none" (the page styles the
 * widget itself). A script tag without data-src/data-limit/data-title renders
 * in place only when the page has no data-freshet-recent target.
 * Events (bubbling, on the section): freshet-recent:render, and
 * freshet-recent:error just before a failed widget removes itself.
 */
(function () {
  'use strict';

  // With async, document.currentScript is only set during this first run.
  const me = document.currentScript;
  const STATE = 'data-freshet-state';
  const TARGETS = '[data-freshet-recent]';
  const MIN = 60, HOUR = 3600, DAY = 86400;
  // [below, size, max, singular, plural]: the server's ago.c, unit by unit.
  const UNITS = [
    [HOUR, MIN, Infinity, 'min', 'mins'],
    [DAY, HOUR, Infinity, 'hour', 'hours'],
    [7 * DAY, DAY, Infinity, 'day', 'days'],
    [30 * DAY, 7 * DAY, Infinity, 'week', 'weeks'],
    [365 * DAY, 30 * DAY, 11, 'month', 'months'],
    [Infinity, 365 * DAY, Infinity, 'year', 'years']
  ];
  const RFC3339 =
      /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;
  const live = new Set(); // rendered widgets whose times tick
  const loads = new Map(); // data-src -> Promise of the parsed JSON
  let timer = 0;
  let seq = 0;

  // "12 mins ago" for an age in seconds, exactly as the server writes it.
  function ago(age) {
    if (!(age >= MIN)) return 'just now'; // also the future and NaN
    let u = 0;
    while (age >= UNITS[u][0]) u++;
    const n = Math.min(Math.floor(age / UNITS[u][1]), UNITS[u][2]);
    return n + ' ' + UNITS[u][n === 1 ? 3 : 4] + ' ago';
  }

  function agoAt(t, now) {
    return ago(Math.floor((now - t) / 1000));
  }

  function parseDate(s) {
    if (typeof s !== 'string' || !RFC3339.test(s)) return null;
    const t = Date.parse(s.toUpperCase().replace(' ', 'T'));
    return isFinite(t) ? t : null;
  }

  function str(v) {
    return typeof v === 'string' ? v.trim() : '';
  }

  function isObj(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  // The absolute http(s) URL for v, or null: anything else is never a link.
  function httpUrl(v, base) {
    if (!str(v)) return null;
    try {
      const u = new URL(v, base);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = 'freshet-recent__' + cls;
    if (text) e.textContent = text;
    return e;
  }

  function warn(what, err) {
    try {
      console.warn('freshet widget: ' + what + ': ' + (err && err.message || err));
    } catch (e) { /* no console */ }
  }

  function findScript() {
    const all = document.querySelectorAll('script[src]');
    for (let i = all.length - 1; i >= 0; i--)
      if (/\/widget\.js([?#]|$)/.test(all[i].src)) return all[i];
    return null;
  }

  const script = me || findScript();
  const base = script && script.src ? script.src : document.baseURI;
  const css = loadCss();

  // Resolves when widget.css is usable (or given up on after 3 s).
  function loadCss() {
    if (script && script.getAttribute('data-css') === 'none')
      return Promise.resolve();
    const href = new URL('widget.css', base).href;
    let link = null;
    const links = document.querySelectorAll('link[rel~="stylesheet"]');
    for (let i = 0; i < links.length; i++)
      if (links[i].href === href || links[i].hasAttribute('data-freshet-css'))
        link = links[i];
    if (!link) {
      link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      link.setAttribute('data-freshet-css', '');
      (document.head || document.documentElement).appendChild(link);
    } else if (link.sheet) {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      link.addEventListener('load', resolve);
      link.addEventListener('error', resolve);
      setTimeout(resolve, 3000);
    });
  }

  function load(src) {
    let p = loads.get(src);
    if (!p) {
      p = (async function () {
        const ctl = typeof AbortController === 'function' ?
            new AbortController() : null;
        const t = setTimeout(function () { if (ctl) ctl.abort(); }, 15000);
        try {
          const res = await fetch(src, {
            credentials: 'omit',
            headers: {Accept: 'application/json'},
            signal: ctl ? ctl.signal : undefined
          });
          if (!res.ok) throw new Error('HTTP ' + res.status);
          const data = await res.json();
          if (!isObj(data) || !Array.isArray(data.items))
            throw new Error('not a recent.json (no items array)');
          return {data: data, url: res.url || src};
        } finally {
          clearTimeout(t);
        }
      })();
      loads.set(src, p);
    }
    return p;
  }

  // The section reserves its final height from the first moment, in the
  // same units and custom properties widget.css lays the list out with, so
  // neither widget.css arriving nor the list replacing the skeleton moves
  // what is below. Set through the CSSOM, which a CSP allows.
  function reserve(s, n) {
    const st = s.style;
    st.setProperty('display', 'flow-root');
    st.setProperty('box-sizing', 'content-box');
    st.setProperty('font-size', 'var(--freshet-font-size, 1em)');
    st.setProperty('padding', 'var(--freshet-padding, 0)');
    st.setProperty('border', 'var(--freshet-border, 0 none)');
    st.setProperty('min-height', 'calc(var(--freshet-heading-size, 1.125em)' +
        ' * 1.3 + var(--freshet-heading-gap, .75em) + ' + n +
        ' * var(--freshet-item-height, 7em) + ' + (n - 1) +
        ' * (var(--freshet-gap, .75em) + 1px))');
  }

  function mount(host, after) {
    if (host.hasAttribute(STATE)) return;
    host.setAttribute(STATE, 'loading');
    const lim = parseInt(host.getAttribute('data-limit'), 10);
    const w = {
      host: host,
      limit: lim >= 1 ? Math.min(lim, 50) : 5,
      title: host.getAttribute('data-title') || 'Recent Posts',
      images: host.getAttribute('data-images') === 'true',
      sec: document.createElement('section'),
      list: null,
      times: [],
      saved: null,
      done: false
    };
    let id;
    do id = 'freshet-recent-' + ++seq; while (document.getElementById(id));
    w.id = id;
    w.sec.className = 'freshet-recent';
    w.sec.setAttribute('aria-labelledby', id);
    w.sec.setAttribute('aria-busy', 'true');
    reserve(w.sec, w.limit);
    if (after) {
      host.parentNode.insertBefore(w.sec, host.nextSibling);
    } else {
      // Keep the page's own fallback content to put back on failure.
      w.saved = document.createDocumentFragment();
      while (host.firstChild) w.saved.appendChild(host.firstChild);
      host.appendChild(w.sec);
    }
    const attr = host.getAttribute('data-src');
    let src;
    try {
      src = new URL(attr || 'recent.json', attr ? document.baseURI : base).href;
    } catch (e) {
      return fail(w, e);
    }
    css.then(function () { if (!w.done) frame(w, true); });
    Promise.all([load(src), css]).then(function (r) {
      render(w, r[0].data, r[0].url);
    }).catch(function (err) {
      fail(w, err, src);
    });
  }

  // The heading and a list of skeleton rows of the final size.
  function frame(w, skeleton) {
    if (w.list) return;
    const h = el('h2', 'heading', w.title);
    h.id = w.id;
    w.list = el('ol', 'list');
    w.list.setAttribute('role', 'list'); // kept with list-style: none
    for (let i = 0; skeleton && i < w.limit; i++) {
      const li = el('li', 'item');
      li.classList.add('freshet-recent__item--skeleton');
      li.setAttribute('aria-hidden', 'true');
      li.appendChild(el('span', 'bar'));
      li.appendChild(el('span', 'bar'));
      li.appendChild(el('span', 'bar'));
      w.list.appendChild(li);
    }
    w.sec.appendChild(h);
    w.sec.appendChild(w.list);
  }

  function render(w, data, url) {
    w.done = true;
    if (!w.sec.isConnected) return;
    frame(w, false);
    const items = data.items.filter(isObj).slice(0, w.limit);
    const now = Date.now();
    const list = w.list;
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (it) { list.appendChild(item(w, it, url, now)); });
    if (!items.length)
      w.sec.replaceChild(el('p', 'empty', 'No posts yet.'), list);
    // Fewer items than reserved for: give the space back.
    if (items.length < w.limit) w.sec.style.removeProperty('min-height');
    w.sec.removeAttribute('aria-busy');
    w.host.setAttribute(STATE, 'ready');
    if (w.times.length) {
      live.add(w);
      if (!timer) timer = setInterval(tick, 60000);
    }
    w.sec.dispatchEvent(new CustomEvent('freshet-recent:render',
        {bubbles: true, detail: {count: items.length}}));
  }

  function item(w, it, url, now) {
    const li = el('li', 'item');
    const link = httpUrl(it.url, url);
    const img = w.images && httpUrl(it.image, url);
    if (img) {
      const i = el('img', 'image');
      i.src = img;
      i.alt = '';
      i.width = i.height = 64;
      i.loading = 'lazy';
      i.decoding = 'async';
      i.referrerPolicy = 'no-referrer';
      i.addEventListener('error', function () { i.remove(); });
      li.appendChild(i);
    }
    const title = el('div', 'title');
    const text = str(it.title) || str(it.url) || 'Untitled';
    title.appendChild(link ? anchor(link, text) : el('span', '', text));
    li.appendChild(title);
    const excerpt = str(it.excerpt);
    if (excerpt) li.appendChild(el('p', 'excerpt', excerpt));

    const meta = el('p', 'meta');
    const source = isObj(it.source) ? it.source : {};
    const name = str(source.title) || str(source.name);
    const surl = httpUrl(source.url, url);
    if (name) {
      const s = surl ? anchor(surl, name) : el('span', '', name);
      s.className = 'freshet-recent__source';
      meta.appendChild(s);
    }
    const t = parseDate(it.published);
    let time = null;
    if (t !== null) {
      time = el('time', 'time', agoAt(t, now));
      time.setAttribute('datetime', it.published);
      try {
        time.title = new Date(t).toLocaleString(undefined,
            {dateStyle: 'full', timeStyle: 'short'});
      } catch (e) {
        time.title = new Date(t).toString();
      }
      w.times.push([time, t]);
    } else if (str(it.ago)) {
      time = el('span', 'time', str(it.ago)); // the server's, as a fallback
    }
    if (time) {
      if (name) {
        const dot = el('span', 'sep', '\u00b7');
        dot.setAttribute('aria-hidden', 'true');
        meta.appendChild(dot);
      }
      meta.appendChild(time);
    }
    if (meta.firstChild) li.appendChild(meta);
    return li;
  }

  function anchor(href, text) {
    const a = el('a', 'link', text);
    a.href = href;
    a.rel = 'noopener';
    return a;
  }

  function fail(w, err, src) {
    w.done = true;
    warn('cannot show ' + (src || 'recent posts'), err);
    try {
      if (w.sec.isConnected)
        w.sec.dispatchEvent(new CustomEvent('freshet-recent:error',
            {bubbles: true, detail: {src: src, error: String(err)}}));
    } catch (e) { /* nothing */ }
    w.sec.remove();
    if (w.saved) w.host.appendChild(w.saved);
    w.host.setAttribute(STATE, 'failed');
  }

  function tick() {
    const now = Date.now();
    live.forEach(function (w) {
      if (!w.sec.isConnected) return live.delete(w);
      w.times.forEach(function (p) {
        const s = agoAt(p[1], now);
        if (p[0].textContent !== s) p[0].textContent = s;
      });
    });
    if (!live.size && timer) {
      clearInterval(timer);
      timer = 0;
    }
  }

  function scan() {
    const all = document.querySelectorAll(TARGETS);
    for (let i = 0; i < all.length; i++)
      if (all[i].tagName !== 'SCRIPT') mount(all[i], false);
  }

  function whenParsed(f) {
    if (document.readyState === 'loading')
      document.addEventListener('DOMContentLoaded', f);
    else
      f();
  }

  function safe(f) {
    return function () {
      try {
        f();
      } catch (e) {
        warn('internal error', e);
      }
    };
  }

  safe(function () {
    window.FreshetRecent = {ago: ago, scan: safe(scan), tick: safe(tick)};
    document.addEventListener('visibilitychange', safe(function () {
      if (document.visibilityState === 'visible') tick();
    }));
    if (script && script.parentNode && !script.closest('head')) {
      if (script.hasAttribute('data-src') || script.hasAttribute('data-limit') ||
          script.hasAttribute('data-title'))
        mount(script, true);
      else
        whenParsed(safe(function () {
          const t = document.querySelectorAll(TARGETS);
          if (!t.length || (t.length === 1 && t[0] === script))
            mount(script, true);
        }));
    }
    scan();
    whenParsed(safe(scan));
  })();
})();
