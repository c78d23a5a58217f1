// The playground's Mailbox panel (development only): the mails of the development mailbox,
// read from the JSON endpoint named by #mailbox's data-source, newest first. A mail opens with
// its text, its HTML in a sandboxed frame (no scripts, no same-origin access: the mail is shown,
// never run), and its links, which open the pages behind them in a new tab so the playground's
// session stays where it is.
//
// Kept apart from playground.js, which knows nothing of it: this file adds its own button to
// the sign-in bar and its own drawer.
(function () {
  'use strict';

  const root = document.getElementById('mailbox');
  const pg = window.gqlauthPlayground; // loaded before this file; its bridge lends el
  if (!root || !pg) {
    return;
  }
  const source = new URL(root.getAttribute('data-source') || '/dev/mailbox', window.location.href);
  const frameCSS = root.getAttribute('data-frame-css') ? new URL(root.getAttribute('data-frame-css'), window.location.href) : null;
  // While the drawer is open the list is read again this often: the outbox sends in the
  // background, so a mail shows up a moment after the mutation that queued it.
  const POLL_MS = 2000;

  const el = pg.el;

  let mails = [];
  let selected = null; // id of the open mail
  let pollTimer = 0;
  let loading = null;

  const toggle = el('button', { id: 'mailbox-toggle', type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': 'mailbox' }, 'Mailbox');
  const count = el('span', { id: 'mailbox-count', class: 'mailbox-count' });
  toggle.append(count);
  const status = el('p', { id: 'mailbox-status', class: 'mailbox-status', role: 'status', 'aria-live': 'polite' });
  const list = el('ul', { id: 'mailbox-list', class: 'mailbox-list' });
  const message = el('section', { id: 'mailbox-message', class: 'mailbox-message', hidden: true });
  const refreshButton = el('button', { id: 'mailbox-refresh', type: 'button', onclick: () => load() }, 'Refresh');
  const closeButton = el('button', { id: 'mailbox-close', type: 'button', class: 'secondary', onclick: () => setOpen(false) }, 'Close');

  root.classList.add('drawer', 'mailbox');
  root.setAttribute('aria-label', 'Development mailbox');
  root.append(
    el(
      'header',
      { class: 'mailbox-header' },
      el('h2', {}, 'Mailbox'),
      el('span', { class: 'mailbox-note' }, 'development only: mails are kept here, not sent'),
      refreshButton,
      closeButton,
    ),
    status,
    list,
    message,
  );
  const bar = document.getElementById('auth-panel');
  const anchor = document.getElementById('auth-status');
  (bar || document.body).insertBefore(toggle, anchor && anchor.parentNode === bar ? anchor : null);
  toggle.addEventListener('click', () => setOpen(root.hidden));

  function setOpen(open) {
    if (open && bar) {
      // Below the bar, so its buttons (this one included) stay in reach. CSSOM, which the CSP
      // allows, unlike a style attribute.
      root.style.top = Math.ceil(bar.getBoundingClientRect().bottom) + 'px';
    }
    root.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    clearInterval(pollTimer);
    if (open) {
      load();
      pollTimer = setInterval(load, POLL_MS);
    }
  }

  // Timers sleep in background tabs; read the list at once when the tab is seen again.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !root.hidden) {
      load();
    }
  });

  function load() {
    if (loading) {
      return loading;
    }
    loading = fetch(source.href, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(async (res) => {
        if (res.status === 404) {
          clearInterval(pollTimer); // it will not appear while this page lives
          throw new Error('There is no development mailbox here (production, or SMTP_URL is set).');
        }
        if (!res.ok) {
          throw new Error('The mailbox answered HTTP ' + res.status + '.');
        }
        const body = await res.json();
        if (!Array.isArray(body)) {
          throw new Error('The mailbox answered something other than a list.');
        }
        mails = body;
        renderList();
        status.textContent = mails.length ? '' : 'No mail yet. Register above: the verification mail lands here.';
        status.classList.remove('error');
      })
      .catch((err) => {
        status.textContent = err.message;
        status.classList.add('error');
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  function when(sentAt) {
    const d = new Date(sentAt);
    return isNaN(d) ? String(sentAt || '') : d.toLocaleString();
  }

  function renderList() {
    count.textContent = mails.length ? String(mails.length) : '';
    list.replaceChildren(
      ...mails.map((m) =>
        el(
          'li',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'mailbox-item' + (m.id === selected ? ' selected' : ''),
              'data-id': m.id,
              'aria-pressed': String(m.id === selected),
              onclick: () => show(m.id),
            },
            el('span', { class: 'mailbox-subject' }, m.subject || '(no subject)'),
            el('span', { class: 'mailbox-meta' }, (m.to || '') + ' · ' + when(m.sentAt)),
          ),
        ),
      ),
    );
    if (selected !== null && !mails.some((m) => m.id === selected)) {
      selected = null;
      message.hidden = true;
    }
  }

  // linksOf collects the http(s) links of a mail, from its text and its HTML, once each.
  function linksOf(m, doc) {
    const found = new Set();
    for (const match of String(m.text || '').matchAll(/https?:\/\/[^\s<>"')\]]+/g)) {
      found.add(match[0]);
    }
    if (doc) {
      for (const a of doc.querySelectorAll('a[href]')) {
        found.add(a.getAttribute('href'));
      }
    }
    return [...found].filter((href) => {
      try {
        const u = new URL(href);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch (e) {
        return false;
      }
    });
  }

  // withoutInlineStyles drops <style> elements and style attributes from the mail's source:
  // Chromium checks them against this page's CSP even while parsing them into an inert
  // document, and logs a refusal for each. What this misses is only a console line: the frame
  // applies no inline style either way.
  const TAG = /<[a-zA-Z][^\s/>]*(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?|\s*\/)*\s*>/g;
  const STYLE_ATTR = /\s+style\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+)/gi;
  function withoutInlineStyles(html) {
    return html.replace(/<style\b[^>]*>[\s\S]*?<\/style\s*>/gi, '').replace(TAG, (tag) => tag.replace(STYLE_ATTR, ''));
  }

  // htmlForFrame parses the mail's HTML without running any of it (DOMParser documents run no
  // script) and prepares it for the frame. The frame inherits this page's CSP, which refuses
  // inline styles, scripts and images from elsewhere: rather than fill the console with
  // refusals, what it would refuse is dropped here, and mailframe.css styles the rest. The
  // sandbox, not this cleaning, is what keeps the mail from running code. Links open a new
  // tab: the frame may not navigate the playground, and the pages refuse to be framed.
  function htmlForFrame(html) {
    if (!html) {
      return { doc: null, srcdoc: '' };
    }
    const doc = new DOMParser().parseFromString(withoutInlineStyles(html), 'text/html');
    for (const n of doc.querySelectorAll('script, style, link, meta[http-equiv], base, iframe, frame, object, embed, form')) {
      n.remove();
    }
    for (const img of doc.querySelectorAll('img')) {
      if (!/^data:/i.test(img.getAttribute('src') || '')) {
        img.replaceWith(doc.createTextNode(img.getAttribute('alt') || ''));
      }
    }
    for (const n of doc.querySelectorAll('*')) {
      for (const a of [...n.attributes]) {
        if (a.name === 'style' || a.name.startsWith('on') || a.name === 'srcset') {
          n.removeAttribute(a.name);
        }
      }
    }
    for (const a of doc.querySelectorAll('a[href]')) {
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener noreferrer');
    }
    if (frameCSS) {
      const link = doc.createElement('link');
      link.rel = 'stylesheet';
      link.href = frameCSS.href;
      doc.head.append(link);
    }
    return { doc, srcdoc: '<!DOCTYPE html>' + doc.documentElement.outerHTML };
  }

  function label(href) {
    try {
      const u = new URL(href);
      return (u.origin === window.location.origin ? '' : u.origin) + u.pathname;
    } catch (e) {
      return href;
    }
  }

  function show(id) {
    const m = mails.find((x) => x.id === id);
    if (!m) {
      return;
    }
    selected = id;
    renderList();
    const { doc, srcdoc } = htmlForFrame(m.html);
    const links = linksOf(m, doc);
    message.replaceChildren(
      el('h3', { id: 'mailbox-subject' }, m.subject || '(no subject)'),
      el('p', { class: 'mailbox-meta' }, 'To ' + (m.to || '?') + ' · ' + when(m.sentAt)),
      links.length
        ? el(
            'ul',
            { id: 'mailbox-links', class: 'mailbox-links' },
            ...links.map((href) =>
              el('li', {}, el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'mailbox-link' }, 'Open ' + label(href))),
            ),
          )
        : el('p', { class: 'mailbox-meta' }, 'No links in this mail.'),
      el('h4', {}, 'Text'),
      el('pre', { id: 'mailbox-text', class: 'mailbox-text' }, m.text || '(no text part)'),
      el('h4', {}, 'HTML'),
      srcdoc
        ? el('iframe', {
            id: 'mailbox-html',
            class: 'mailbox-html',
            title: 'The mail as HTML',
            // No allow-scripts, no allow-same-origin: the mail's HTML cannot run code or reach
            // this page. Popups (its links, target=_blank) open outside the sandbox.
            sandbox: 'allow-popups allow-popups-to-escape-sandbox',
            referrerpolicy: 'no-referrer',
            srcdoc,
          })
        : el('p', { class: 'mailbox-meta' }, '(no HTML part)'),
    );
    message.hidden = false;
  }
})();
