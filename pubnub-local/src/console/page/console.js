// pubnub-local console: reads the server's live feed (server-sent events from
// /__console/events) and draws it; publishes and switches faults through /__console/*.
// Plain JavaScript, no library. Everything shown comes from the server and is inserted as
// text, never as HTML.
'use strict';

(() => {
  const MAX_FEED = 500;
  const MAX_REQUESTS = 500;
  const MAX_PRESENCE = 500;
  /// A switched-on group or a client fault lasts this many requests (the admin API's most).
  const FOREVER = 10000;
  const ENDPOINTS = ['all', 'subscribe', 'long-poll', 'publish', 'signal', 'presence',
    'channel-groups', 'history', 'message-actions', 'app-context', 'files', 'publish-file',
    'file-storage', 'push', 'time'];

  const token = new URLSearchParams(location.search).get('token');
  const withToken = (path) => (token ? `${path}?token=${encodeURIComponent(token)}` : path);
  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') el.className = value;
      else if (name === 'dataset') Object.assign(el.dataset, value);
      else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  const pad = (n, width = 2) => String(n).padStart(width, '0');
  function clock(ms) {
    if (ms === null || ms === undefined) return '';
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  function dateTime(ms) {
    if (ms === null || ms === undefined) return '';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms).slice(0, 8)}`;
  }
  const json = (value) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
  const maybeJson = (value) => (value === null || value === undefined ? '' : json(value));
  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }

  // ---- state ---------------------------------------------------------------------------

  let snapshot = null;
  const drawn = {}; // section name -> JSON last drawn, to skip unchanged sections
  const seenMessages = new Set();
  const seenRequests = new Set();
  let requests = [];
  let presence = [];

  const manyKeys = () => Boolean(snapshot && snapshot.keys.length > 1);
  const keyTag = (subKey) => (manyKeys() ? h('span', { class: 'key', title: 'subscribe key' }, subKey) : null);

  /** Replaces a container's children, keeping keyboard focus on the element with the same
   *  `data-focus` if it had focus: a table redrawn every 200 ms must not steal focus. */
  function replaceKeepingFocus(container, children) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.dataset.focus : null;
    container.replaceChildren(...children);
    if (key) {
      const again = [...container.querySelectorAll('[data-focus]')].find((el) => el.dataset.focus === key);
      if (again) again.focus();
    }
  }

  /** Draws a section when its data changed since it was last drawn. */
  function section(name, data, draw) {
    const text = JSON.stringify(data);
    if (drawn[name] === text) return;
    drawn[name] = text;
    draw(data);
  }

  function rows(tableId, items, row, emptyId) {
    const body = $(tableId).tBodies[0];
    replaceKeepingFocus(body, items.map(row));
    if (emptyId) $(emptyId).hidden = items.length > 0;
    const count = $(`${tableId}-count`);
    if (count) count.textContent = items.length ? `(${items.length})` : '';
  }

  // ---- connection ----------------------------------------------------------------------

  function setConnection(stateName, text) {
    const el = $('connection');
    el.dataset.state = stateName;
    el.textContent = text;
  }

  function connect() {
    const source = new EventSource(withToken('/__console/events'));
    source.addEventListener('open', () => setConnection('live', 'Live'));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) setConnection('closed', 'Disconnected: reload the page');
      else setConnection('connecting', 'Reconnecting…');
    });
    source.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
    source.addEventListener('backlog', (e) => {
      const backlog = JSON.parse(e.data);
      backlog.messages.forEach(onMessage);
      backlog.requests.forEach(onRequest);
    });
    source.addEventListener('message', (e) => onMessage(JSON.parse(e.data)));
    source.addEventListener('request', (e) => onRequest(JSON.parse(e.data)));
    source.addEventListener('skipped', (e) => {
      const skipped = JSON.parse(e.data);
      const what = skipped.messages ? `${skipped.messages} messages` : `${skipped.requests} requests`;
      setConnection('live', `Live (skipped ${what}: the page fell behind)`);
    });
  }

  // ---- snapshot ------------------------------------------------------------------------

  function onSnapshot(data) {
    snapshot = data;
    const s = data.server;
    const parts = [`v${s.version}`, `hold ${Math.round(s.hold_ms / 100) / 10} s`,
      s.access_manager ? 'Access Manager on' : 'Access Manager off',
      s.faults_endpoint ? '/__faults on' : '/__faults off'];
    if (data.keys.length) parts.push(`keys: ${data.keys.join(', ')}`);
    $('server-info').textContent = parts.join(' · ');
    $('access-off').hidden = s.access_manager;
    section('names', [data.keys, data.channels.map((c) => c.name), data.clients.map((c) => c.uuid)], drawNames);
    section('channels', data.channels, drawChannels);
    section('groups', data.groups, (groups) => rows('groups', groups, (g) => h('tr', null,
      h('td', null, h('span', { class: 'name' }, g.name), keyTag(g.sub_key)),
      h('td', null, g.channels.join(', ') || h('span', { class: 'sub' }, 'empty'))), 'groups-empty'));
    section('clients', [data.clients, data.faults], () => drawClients(data.clients));
    section('faults', data.faults, drawFaults);
    section('users', data.users, (users) => rows('users', users, (u) => entityRow(u, u.email)));
    section('channel-metadata', data.channel_metadata,
      (channels) => rows('channel-metadata', channels, (c) => entityRow(c, c.description)));
    section('memberships', data.memberships, (list) => rows('memberships', list, (m) => h('tr', null,
      h('td', { class: 'name' }, m.user, keyTag(m.sub_key)), h('td', null, m.channel),
      h('td', null, [m.status, m.type].filter(Boolean).join(' / ')),
      h('td', null, maybeJson(m.custom)), h('td', { class: 'nowrap' }, m.updated))));
    section('grants', data.grants, drawGrants);
    section('files', data.files, (files) => rows('files', files, (f) => h('tr', null,
      h('td', null, f.channel, keyTag(f.sub_key)), h('td', { class: 'name' }, f.name),
      h('td', { class: 'mono' }, f.id), h('td', { class: 'num' }, size(f.size)),
      h('td', null, f.content_type), h('td', { class: 'nowrap' }, dateTime(f.created)),
      h('td', { class: 'nowrap' }, f.expires ? dateTime(f.expires) : 'when deleted'))));
    section('push', data.push, (push) => rows('push', push, (n) => h('tr', null,
      h('td', { class: 'mono' }, n.timetoken), h('td', null, n.channel, keyTag(n.sub_key)),
      h('td', null, n.push_type, n.environment ? h('div', { class: 'sub' }, `${n.topic} (${n.environment})`) : null),
      h('td', { class: 'mono' }, n.token), h('td', null, json(n.payload)))));
  }

  function drawNames([keys, channels, users]) {
    const options = (id, names) => $(id).replaceChildren(...[...new Set(names)].sort().map((n) => h('option', { value: n })));
    options('key-names', keys);
    options('channel-names', channels);
    options('user-names', users);
  }

  function drawChannels(channels) {
    rows('channels', channels, (c) => h('tr', { dataset: { channel: c.name } },
      h('td', null, h('span', { class: 'name' }, c.name), keyTag(c.sub_key)),
      h('td', { class: 'num occupancy' }, c.occupancy),
      h('td', null, c.occupants.map((o) => o.uuid).join(', ')),
      h('td', null, c.subscribers.join(', ')),
      h('td', { class: 'num' }, c.buffered),
      h('td', { class: 'nowrap' }, clock(c.last_message))), 'channels-empty');
    const total = snapshot.counts.channels;
    if (total > channels.length) $('channels-count').textContent = `(${channels.length} of ${total})`;
  }

  /** Rules that target one user id, by user id. */
  function clientRules(faults) {
    const byUser = new Map();
    for (const rule of faults) {
      if (!rule.user) continue;
      if (!byUser.has(rule.user)) byUser.set(rule.user, []);
      byUser.get(rule.user).push(rule);
    }
    return byUser;
  }

  function drawClients(clients) {
    const byUser = clientRules(snapshot.faults);
    rows('clients', clients, (c) => {
      const poll = [...c.channels, ...c.groups.map((g) => `group ${g}`)].join(', ');
      const states = c.present.filter((p) => p.state).map((p) => h('div', null, h('span', { class: 'sub' }, `${p.channel}: `), JSON.stringify(p.state)));
      const rules = byUser.get(c.uuid) || [];
      const flight = c.long_polls > 0
        ? h('span', { class: `badge ${c.long_polls > 1 ? 'warn' : 'ok'}` }, c.long_polls > 1 ? `${c.long_polls} open` : 'waiting')
        : h('span', { class: 'sub' }, 'no');
      const focus = (what) => `${c.sub_key}/${c.uuid}/${what}`;
      return h('tr', { dataset: { user: c.uuid } },
        h('td', null, h('span', { class: 'name' }, c.uuid), keyTag(c.sub_key)),
        h('td', null, poll || h('span', { class: 'sub' }, c.present.length ? `present on ${c.present.map((p) => p.channel).join(', ')}` : '—'),
          c.filter ? h('div', { class: 'sub' }, `filter: ${c.filter}`) : null),
        h('td', null, flight),
        h('td', null, states),
        h('td', { class: 'nowrap' }, clock(c.last_heartbeat)),
        h('td', { class: 'nowrap' },
          rules.length ? h('span', { class: 'badge bad' }, rules.map(ruleName).join(', ')) : null,
          ' ',
          h('button', { type: 'button', class: 'small', dataset: { focus: focus('delay') }, 'aria-label': `Delay ${c.uuid} 2 s`, onclick: () => clientAction('delay', c.uuid) }, 'Delay'),
          ' ',
          h('button', { type: 'button', class: 'small', dataset: { focus: focus('blackhole') }, 'aria-label': `Black-hole ${c.uuid}`, onclick: () => clientAction('blackhole', c.uuid) }, 'Black-hole'),
          rules.length ? ' ' : null,
          rules.length ? h('button', { type: 'button', class: 'small', dataset: { focus: focus('release') }, 'aria-label': `Release ${c.uuid}`, onclick: () => clientAction('release', c.uuid) }, 'Release') : null));
    }, 'clients-empty');
    const total = snapshot.counts.clients;
    if (total > clients.length) $('clients-count').textContent = `(${clients.length} of ${total})`;
  }

  function entityRow(e, third) {
    return h('tr', null,
      h('td', { class: 'name' }, e.id, keyTag(e.sub_key)), h('td', null, e.name || ''), h('td', null, third || ''),
      h('td', null, [e.status, e.type].filter(Boolean).join(' / ')),
      h('td', null, maybeJson(e.custom)), h('td', { class: 'nowrap' }, e.updated));
  }

  function permissionList(sets) {
    const items = [];
    for (const [kind, names] of Object.entries(sets)) {
      for (const [name, perms] of Object.entries(names)) {
        items.push(h('li', null, h('span', { class: 'sub' }, `${kind.replace(/s$/, '')} `), h('span', { class: 'mono' }, name), `: ${perms.join(', ')}`));
      }
    }
    return items.length ? h('ul', { class: 'list' }, items) : '';
  }

  function drawGrants(grants) {
    const now = snapshot.server.now;
    rows('grants', grants, (g) => {
      let stateCell;
      if (g.revoked) stateCell = h('span', { class: 'badge bad' }, `revoked ${clock(g.revoked).slice(0, 8)}`);
      else if (g.expires <= now) stateCell = h('span', { class: 'badge warn' }, 'expired');
      else stateCell = h('span', { class: 'badge ok' }, `until ${dateTime(g.expires)}`);
      const short = g.token.length > 24 ? `${g.token.slice(0, 12)}…${g.token.slice(-8)}` : g.token;
      return h('tr', null,
        h('td', { class: 'mono', title: g.token }, short),
        h('td', null, g.authorized_uuid || h('span', { class: 'sub' }, 'any')),
        h('td', null, permissionList(g.resources)),
        h('td', null, permissionList(g.patterns)),
        h('td', { class: 'nowrap' }, dateTime(g.granted), h('div', { class: 'sub' }, `ttl ${g.ttl} min`)),
        h('td', null, stateCell));
    });
  }

  // ---- messages and presence -----------------------------------------------------------

  const messageId = (m) => JSON.stringify([m.sub_key, m.channel, m.timetoken]);

  function onMessage(m) {
    const id = messageId(m);
    if (seenMessages.has(id)) return;
    seenMessages.add(id);
    if (m.type === 'presence') {
      presence.unshift(m);
      if (presence.length > MAX_PRESENCE) seenMessages.delete(messageId(presence.pop()));
      drawPresence();
      return;
    }
    const feed = $('feed');
    feed.prepend(messageItem(m));
    while (feed.children.length > MAX_FEED) {
      const last = feed.lastElementChild;
      seenMessages.delete(last.dataset.id);
      last.remove();
    }
    $('feed-empty').hidden = true;
    countFeed();
  }

  function messageItem(m) {
    const head = h('div', { class: 'msg-head' },
      h('span', { class: 'badge' }, m.type),
      h('span', { class: 'name' }, m.channel), keyTag(m.sub_key),
      m.publisher ? h('span', null, 'from ', h('strong', null, m.publisher)) : null,
      m.encrypted ? h('span', { class: 'badge warn', title: 'A base64 ciphertext: published with a cipher key' }, 'encrypted') : null,
      m.truncated ? h('span', { class: 'badge' }, 'cut at 64 KiB') : null,
      h('time', { datetime: new Date(m.at).toISOString() }, clock(m.at)),
      h('span', { class: 'tt mono' }, m.timetoken));
    const extra = [];
    if (m.custom_message_type) extra.push(`type: ${m.custom_message_type}`);
    if (m.meta !== null && m.meta !== undefined) extra.push(`meta: ${JSON.stringify(m.meta)}`);
    if (m.seqn !== null && m.seqn !== undefined) extra.push(`seqn: ${m.seqn}`);
    const item = h('li', { class: `msg msg-${m.type}`, dataset: { channel: m.channel, type: m.type, id: messageId(m) } },
      head, json(m.payload), extra.length ? h('div', { class: 'meta' }, extra.join(' · ')) : null);
    item.hidden = !shown(item);
    return item;
  }

  function shown(item) {
    const filter = $('feed-filter').value.trim();
    const events = $('feed-events').checked;
    if (!events && (item.dataset.type === 'action' || item.dataset.type === 'objects')) return false;
    return !filter || item.dataset.channel.includes(filter);
  }

  function refilter() {
    for (const item of $('feed').children) item.hidden = !shown(item);
    countFeed();
  }

  function countFeed() {
    const items = [...$('feed').children];
    const visible = items.filter((i) => !i.hidden).length;
    $('feed-count').textContent = items.length ? `${visible} of ${items.length}` : '';
  }

  let presencePending = false;
  function drawPresence() {
    if (presencePending) return;
    presencePending = true;
    requestAnimationFrame(() => {
      presencePending = false;
      rows('presence', presence, (p) => {
        const d = p.payload || {};
        const who = d.uuid || ['join', 'leave', 'timeout'].filter((k) => d[k]).map((k) => `${k}: ${d[k].join(', ')}`).join('; ');
        return h('tr', null,
          h('td', { class: 'nowrap' }, clock(p.at)),
          h('td', null, p.channel.replace(/-pnpres$/, ''), keyTag(p.sub_key)),
          h('td', null, h('span', { class: `badge ${d.action === 'join' ? 'ok' : d.action === 'timeout' ? 'bad' : ''}` }, d.action || '?')),
          h('td', { class: 'name' }, who || ''),
          h('td', { class: 'num' }, d.occupancy ?? ''),
          h('td', null, d.data ? json(d.data) : ''));
      }, 'presence-empty');
    });
  }

  // ---- requests ------------------------------------------------------------------------

  function onRequest(r) {
    if (seenRequests.has(r.id)) return;
    seenRequests.add(r.id);
    requests.unshift(r);
    if (requests.length > MAX_REQUESTS) seenRequests.delete(requests.pop().id);
    drawRequests();
  }

  let requestsPending = false;
  function drawRequests() {
    if (requestsPending) return;
    requestsPending = true;
    requestAnimationFrame(() => {
      requestsPending = false;
      const filter = $('requests-filter').value.trim().toLowerCase();
      const matches = (r) => !filter || [r.path, r.query, r.user, r.status, r.fault, r.method]
        .some((v) => v !== null && v !== undefined && String(v).toLowerCase().includes(filter));
      const list = requests.filter(matches);
      rows('requests', list, (r) => {
        const status = r.status === null
          ? h('span', { class: 'badge bad', title: 'The connection closed without an answer' }, 'closed')
          : h('span', { class: `badge ${r.status >= 400 ? 'bad' : 'ok'}` }, r.status);
        return h('tr', null,
          h('td', { class: 'nowrap' }, clock(r.at)),
          h('td', null, r.method),
          h('td', { class: 'mono' }, r.path, r.query ? h('div', { class: 'sub' }, `?${r.query}`) : null),
          h('td', null, r.user || ''),
          h('td', null, status),
          h('td', { class: 'num' }, r.millis),
          h('td', null, r.fault ? h('span', { class: 'badge bad' }, r.fault) : ''));
      });
      $('requests-count').textContent = requests.length ? `${list.length} of ${requests.length}` : '';
    });
  }

  // ---- faults --------------------------------------------------------------------------

  function ruleName(rule) {
    switch (rule.fault) {
      case 'status': return `status ${rule.status}`;
      case 'delay': return `delay ${rule.ms} ms`;
      case 'store_then_fail': return `store_then_fail ${rule.status}`;
      default: return rule.fault;
    }
  }

  /** The rules a group's switch stands for: that group, no user, no channel. */
  const switchRules = (faults, endpoint) => faults.filter((r) => r.endpoint === endpoint && !r.user && !r.channel);

  function drawFaults(faults) {
    const switches = $('switches');
    if (!switches.children.length) {
      switches.replaceChildren(...ENDPOINTS.map((endpoint) => h('button', {
        type: 'button', 'aria-pressed': 'false', dataset: { endpoint, focus: endpoint },
        onclick: () => toggle(endpoint),
      }, endpoint)));
    }
    for (const button of switches.children) {
      const on = switchRules(faults, button.dataset.endpoint).length > 0;
      button.setAttribute('aria-pressed', String(on));
    }
    rows('faults', faults, (r) => h('tr', null,
      h('td', { class: 'num' }, r.id),
      h('td', null, r.endpoint),
      h('td', null, ruleName(r), r.retry_after ? h('div', { class: 'sub' }, `Retry-After ${r.retry_after}`) : null),
      h('td', { class: 'num' }, r.times),
      h('td', null, r.user || ''),
      h('td', null, r.channel || ''),
      h('td', null, h('button', { type: 'button', class: 'small', dataset: { focus: `remove-${r.id}` }, 'aria-label': `Remove rule ${r.id}`, onclick: () => faultCommands({ action: 'remove', id: r.id }) }, 'Remove'))), 'faults-empty');
  }

  function switchFault() {
    const [fault, value] = $('switch-action').value.split(':');
    if (fault === 'status') return { fault, status: Number(value) };
    if (fault === 'delay') return { fault, ms: Number(value) };
    return { fault };
  }

  function toggle(endpoint) {
    const faults = snapshot ? snapshot.faults : [];
    const on = switchRules(faults, endpoint);
    if (on.length) faultCommands(on.map((r) => ({ action: 'remove', id: r.id })));
    else faultCommands({ endpoint, ...switchFault(), times: FOREVER });
  }

  function clientAction(action, user) {
    if (!user) {
      status('faults-status', 'Give a user id.', true);
      return;
    }
    const faults = snapshot ? snapshot.faults : [];
    const release = faults.filter((r) => r.user === user).map((r) => ({ action: 'remove', id: r.id }));
    if (action === 'release') {
      if (release.length) faultCommands(release);
      return;
    }
    const fault = action === 'delay' ? { fault: 'delay', ms: 2000 } : { fault: 'hang' };
    faultCommands([...release, { endpoint: 'all', ...fault, user, times: FOREVER }]);
  }

  async function faultCommands(commands) {
    try {
      const answer = await post('/__console/faults', commands);
      if (snapshot) snapshot.faults = answer.faults;
      drawn.faults = null;
      section('faults', answer.faults, drawFaults);
      status('faults-status', 'Done.');
    } catch (error) {
      status('faults-status', error.message, true);
    }
  }

  function addRule(event) {
    event.preventDefault();
    const fault = $('rule-fault').value;
    const rule = { endpoint: $('rule-endpoint').value, fault, times: Number($('rule-times').value) || 1 };
    if (fault === 'status' || fault === 'store_then_fail') rule.status = Number($('rule-status').value) || 500;
    if (fault === 'status' && $('rule-retry').value !== '') rule.retry_after = Number($('rule-retry').value);
    if (fault === 'delay') rule.ms = Number($('rule-ms').value) || 0;
    const user = $('rule-user').value.trim();
    const channel = $('rule-channel').value.trim();
    if (user) rule.user = user;
    if (channel) rule.channel = channel;
    faultCommands(rule);
  }

  // ---- publish -------------------------------------------------------------------------

  async function publish(signal) {
    const channel = $('pub-channel').value.trim();
    if (!channel) {
      status('publish-status', 'Give a channel.', true);
      $('pub-channel').focus();
      return;
    }
    const text = $('pub-message').value;
    let message;
    let asText = false;
    try {
      message = JSON.parse(text);
    } catch (_) {
      message = text;
      asText = true;
    }
    const form = {
      sub_key: $('pub-key').value.trim() || 'demo',
      channel,
      message,
      signal,
      store: $('pub-store').checked,
    };
    const publisher = $('pub-publisher').value.trim();
    if (publisher) form.publisher = publisher;
    const type = $('pub-type').value.trim();
    if (type) form.custom_message_type = type;
    const meta = $('pub-meta').value.trim();
    if (meta) {
      try {
        form.meta = JSON.parse(meta);
      } catch (_) {
        status('publish-status', 'Meta is not JSON.', true);
        $('pub-meta').focus();
        return;
      }
    }
    try {
      const answer = await post('/__console/publish', form);
      status('publish-status', `${signal ? 'Signal' : 'Message'} sent at ${answer.timetoken}${asText ? ' (as a string)' : ''}.`);
    } catch (error) {
      status('publish-status', error.message, true);
    }
  }

  // ---- plumbing ------------------------------------------------------------------------

  async function post(path, body) {
    const response = await fetch(withToken(path), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = answer.error;
      const text = typeof error === 'string' ? error : (error && (error.message || JSON.stringify(error)));
      throw new Error(text || `${response.status} ${response.statusText}`);
    }
    return answer;
  }

  function status(id, text, isError = false) {
    const el = $(id);
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  function setUpTabs() {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    const select = (tab, focus) => {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute('aria-selected', String(selected));
        other.tabIndex = selected ? 0 : -1;
        $(other.getAttribute('aria-controls')).hidden = !selected;
      }
      if (focus) tab.focus();
      history.replaceState(null, '', `${location.search}#${tab.id.slice(4)}`);
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => select(tab, false));
      tab.addEventListener('keydown', (e) => {
        const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
        if (!(e.key in moves)) return;
        e.preventDefault();
        select(tabs[(moves[e.key] + tabs.length) % tabs.length], true);
      });
    });
    const initial = tabs.find((t) => `#${t.id.slice(4)}` === location.hash);
    if (initial) select(initial, false);
  }

  function setUp() {
    setUpTabs();
    $('rule-endpoint').replaceChildren(...ENDPOINTS.map((e) => h('option', { value: e }, e)));
    $('publish-form').addEventListener('submit', (e) => {
      e.preventDefault();
      publish(false);
    });
    $('publish-signal').addEventListener('click', () => publish(true));
    $('feed-filter').addEventListener('input', refilter);
    $('feed-events').addEventListener('change', refilter);
    $('feed-clear').addEventListener('click', () => {
      $('feed').replaceChildren();
      countFeed();
    });
    $('requests-filter').addEventListener('input', drawRequests);
    $('requests-clear').addEventListener('click', () => {
      requests = [];
      drawRequests();
    });
    $('rule-form').addEventListener('submit', addRule);
    $('client-form').addEventListener('submit', (e) => e.preventDefault());
    for (const button of document.querySelectorAll('[data-client-action]')) {
      button.addEventListener('click', () => clientAction(button.dataset.clientAction, $('client-user').value.trim()));
    }
    $('faults-clear').addEventListener('click', () => faultCommands({ action: 'clear' }));
    $('drop-long-polls').addEventListener('click', () => faultCommands({ action: 'drop_long_polls' }));
    $('restart-listener').addEventListener('click', () => faultCommands({ action: 'restart_listener', down_ms: 1000 }));
    drawFaults([]);
    // After the load event: the stream's first events are the whole state, drawn once the
    // page is there.
    if (document.readyState === 'complete') connect();
    else window.addEventListener('load', connect, { once: true });
  }

  setUp();
})();
